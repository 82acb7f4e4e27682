//! R13 masking cost on a 4096-character message (the longest an agent may send):
//! `cargo bench --bench masking`. Numbers go in docs/BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use switchboard::domain::masking::{mask_name, mask_phone, mask_text};

const LIMIT: usize = 4096;

fn repeat_to(unit: &str, chars: usize) -> String {
    unit.chars().cycle().take(chars).collect()
}

fn texts() -> Vec<(&'static str, String)> {
    vec![
        // No digit and no `@`: the fast path.
        (
            "clean_text",
            repeat_to(
                "Hello, I would like to change the delivery address of my last order please. ",
                LIMIT,
            ),
        ),
        // Digits that must stay: order numbers, dates, amounts.
        (
            "order_numbers_and_dates",
            repeat_to(
                "Order #12345678 placed on 2024-05-17 at 10:30 for 1,234.56 EUR, ref 987654. ",
                LIMIT,
            ),
        ),
        // Every few words something to mask: a card, a phone number, an e-mail, an IBAN, an SSN.
        (
            "dense_sensitive",
            repeat_to(
                "Card 4111 1111 1111 1111, call +44 7966 197542, mail melissa@gmail.com, \
                 IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6789. ",
                LIMIT,
            ),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask_text_4096_chars");
    for (name, text) in texts() {
        assert_eq!(text.chars().count(), LIMIT);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| b.iter(|| mask_text(black_box(&text)).len()));
    }
    group.finish();
    c.bench_function("mask_phone", |b| {
        b.iter(|| mask_phone(black_box("+ 1 (123) 456 7890")))
    });
    c.bench_function("mask_name", |b| {
        b.iter(|| mask_name(black_box("+447966197542")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
