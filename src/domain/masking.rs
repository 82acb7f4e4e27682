//! R13 masking: what an agent sees of a customer's sensitive data when masking is on.
//! Pure functions, no I/O; the WebSocket and HTTP edges call them on every agent payload.
//!
//! - phone numbers: white space dropped, every character but the last four → `*`
//!   (`+ 1 (123) 456 7890` → `**********7890`);
//! - e-mail addresses: the local part's first character stays, the rest of it → `*`, the
//!   domain stays (`melissa@gmail.com` → `m******@gmail.com`);
//! - payment card numbers (13–19 digits, spaces or dashes, Luhn-valid), IBANs (mod-97 valid)
//!   and US social security numbers (`123-45-6789`): every digit but the last four → `*`.
//!
//! Free text is scanned once with one precompiled pattern that finds candidates; each
//! candidate is then confirmed (Luhn, mod 97, the SSN shape, libphonenumber for phones), so
//! that order numbers and dates stay readable.
//!
//! Phone numbers in free text:
//! - written with a leading `+`: 7 to 15 digits that start with a country calling code known
//!   to libphonenumber (the `phonenumber` crate's metadata) followed by a national number of a
//!   length that country uses: "possible", not "valid", because numbering plans change faster
//!   than metadata and fictional ranges are still customers' numbers;
//! - written without `+`: only the North American shapes `NNN NNN NNNN`, `(NNN) NNN-NNNN`,
//!   `1 NNN NNN NNNN` or ten digits together, and only when the number matches
//!   libphonenumber's patterns of valid numbers of [`DEFAULT_REGION`]. Anything else without `+` (order numbers, dates, amounts,
//!   national numbers of other countries) is left alone: without a country code a digit run
//!   cannot be told from a reference number.
//!
//! Digits are ASCII, Arabic-Indic, Extended Arabic-Indic (Persian, Urdu) and full-width.
//! Masking is idempotent: a masked number's remaining four digits are never read again as the
//! start of another number (they follow at least two `*`), nor as an address's local part, and
//! the domain of an address whose local part is masked is not scanned again. One known
//! exception (`scripts/fuzz` finds it): IBANs are told by the mod-97 check alone, which about
//! one run of letters and digits in 97 passes by chance; what a mask leaves of such a run can
//! pass it again from another start, and a second pass then hides a few more digits.

use super::Role;
use phonenumber::country;
use phonenumber::metadata::DATABASE;
use phonenumber::Type;
use regex::Regex;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

/// How many trailing digits (or characters, for phone numbers) stay readable.
pub const KEEP: usize = 4;

/// Region whose national numbers (written without `+`) are recognised in free text.
pub const DEFAULT_REGION: country::Id = country::Id::US;

const MASK: char = '*';

/// A decimal digit, in the scripts customers commonly write numbers in.
const DIGIT: &str = r"[0-9\x{660}-\x{669}\x{6F0}-\x{6F9}\x{FF10}-\x{FF19}]";
/// The non-ASCII ones. Word boundaries in the pattern are ASCII ones: a Unicode `\b` would
/// stop the regex crate's DFA at the first non-ASCII character (ten times slower).
const WIDE_DIGIT: &str = r"[\x{660}-\x{669}\x{6F0}-\x{6F9}\x{FF10}-\x{FF19}]";

/// What may stand between two digit groups of one number (a line break too: numbers get split
/// across lines by phones and desktop clients).
const SEP: &str = r"(?:[ \t\x{A0}.()\-]|\r?\n)";

/// The candidates, leftmost first; the first alternative that matches at a position wins.
static CANDIDATES: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = format!(
        concat!(
            // e-mail: a local part, `@`, a domain whose last label is letters. No `*` in the local
            // part, so a masked address is not read again; addresses glued together
            // (`a@b.coma@b.com`) are one, masked up to the last `@`.
            r"([\w.%+'\-]+(?:@[\w.%+'\-]+)*@(?:\w(?:[\w\-]*\w)?\.)+\p{{L}}{{2,}})",
            // IBAN: country, check digits, 11 to 30 letters or digits, optionally in groups.
            r"|((?-u:\b)[A-Za-z]{{2}}[0-9]{{2}}(?:[ ]?[A-Za-z0-9]){{11,30}}(?-u:\b))",
            // a number: optional `+` or `(`, digit groups with separators between them.
            // ASCII digits start at a word boundary (not inside `A123`); the others anywhere.
            r"|((?:\+[ \t]*\(?|\()?(?:(?-u:\b)[0-9]|{wide}){d}*(?:{s}{{1,3}}{d}+)*)",
        ),
        d = DIGIT,
        wide = WIDE_DIGIT,
        s = SEP
    );
    Regex::new(&pattern).expect("the masking pattern compiles")
});

/// The numeric value of a digit we recognise.
fn digit_value(c: char) -> Option<u32> {
    let base = match c {
        '0'..='9' => '0',
        '\u{660}'..='\u{669}' => '\u{660}',
        '\u{6F0}'..='\u{6F9}' => '\u{6F0}',
        '\u{FF10}'..='\u{FF19}' => '\u{FF10}',
        _ => return None,
    };
    Some(c as u32 - base as u32)
}

fn is_digit(c: char) -> bool {
    digit_value(c).is_some()
}

/// Masks everything sensitive in free text (message texts, reasons, notes). Borrows when
/// there is nothing to mask.
pub fn mask_text(text: &str) -> Cow<'_, str> {
    // Nothing to find without a digit or an `@` (the lead bytes cover the non-ASCII digits).
    if !text
        .bytes()
        .any(|b| b.is_ascii_digit() || matches!(b, b'@' | 0xD9 | 0xDB | 0xEF))
    {
        return Cow::Borrowed(text);
    }
    let mut out = Output::new(text);
    let mut pos = 0;
    while pos < text.len() {
        // Search without captures (the DFA alone); the text says which alternative matched.
        let Some(found) = CANDIDATES.find_at(text, pos) else {
            break;
        };
        let (start, end) = (found.start(), found.end());
        if let Some(domain_end) = in_masked_address_domain(text, pos, start) {
            pos = domain_end;
        } else if found.as_str().contains('@') {
            let end = email_end(text, start, end);
            let from = email_start(text, start);
            if from > start {
                // What the address leaves is the rest of a number: masked as one, so no
                // number in it stays readable.
                mask_number(text, start, from, &mut out);
            }
            out.replace(from, end, mask_email(&text[from..end]));
            pos = end;
        } else if found
            .as_str()
            .starts_with(|c: char| c.is_ascii_alphabetic())
        {
            // Letters before `**` are what a masked IBAN left (`GB** WEST ...`); a last group
            // glued to an `@` is the local part of an address (`... 5698 john@x.com`).
            let glued = text[end..].starts_with([MASK, '@']);
            match iban_end(&text[start..end], glued) {
                Some(len) => {
                    let iban = &text[start..start + len];
                    out.replace(start, start + len, mask_digits(iban));
                    // The digits the mask kept may begin a number that goes on after the IBAN
                    // (`... 4111` of `GB82 ... 4111 1111 1111 1111`): read them again, or the
                    // rest of that card would stay readable.
                    pos = start + len - kept_last_group(iban);
                }
                // Not an IBAN: look again from the next character.
                None => pos = next_char(text, start),
            }
        } else {
            pos = mask_number(text, start, end, &mut out);
        }
    }
    out.finish()
}

/// The length of an IBAN's last group when it is at most [`KEEP`] ASCII digits, which its
/// mask leaves as they are; 0 otherwise.
fn kept_last_group(iban: &str) -> usize {
    match iban.rsplit_once(' ') {
        Some((_, last)) if last.len() <= KEEP && last.bytes().all(|b| b.is_ascii_digit()) => {
            last.len()
        }
        _ => 0,
    }
}

fn next_char(text: &str, at: usize) -> usize {
    text[at..]
        .chars()
        .next()
        .map_or(text.len(), |c| at + c.len_utf8())
}

/// Where the address `text[start..end]` really ends: a last label glued to what follows
/// (`a@b.com.GB82...`) belongs to the next word, as long as the domain keeps a dot.
fn email_end(text: &str, start: usize, mut end: usize) -> usize {
    while text[end..].starts_with(char::is_alphanumeric) {
        let domain = start + text[start..end].rfind('@').unwrap_or(0);
        match text[domain..end].rfind('.') {
            Some(dot) if text[domain..domain + dot].contains('.') => end = domain + dot,
            _ => break,
        }
    }
    end
}

/// An address's domain, read from just after its `@`.
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\w(?:[\w\-]*\w)?\.)+\p{L}{2,}").expect("the domain pattern compiles")
});

/// When the candidate at `start` lies in the domain of an address whose local part a mask
/// hid (`m******@a.4111111111111111.com`: a masked local part is no address for the pattern),
/// the end of that domain: the first pass kept the domain as it was, so does this one.
fn in_masked_address_domain(text: &str, pos: usize, start: usize) -> Option<usize> {
    let at = pos + text[pos..start].rfind("*@")? + 2;
    let domain = DOMAIN.find(&text[at..])?;
    let end = email_end(text, at - 1, at + domain.end());
    (end > start).then_some(end)
}

/// Where the address found at `start` really starts. Digits after a mask, with the
/// separators between them (`**** 1111`, `*****1234-5`, `**** **** **** 1111 22`), are what
/// is left of a number the first pass read whole: the address it then found began after them
/// (`**** 1111j@x.com`: `j@x.com`), and never at an `@`, with which no address begins
/// (`*****1234-5@g@x.com`: `g@x.com`).
fn email_start(text: &str, start: usize) -> usize {
    let before = text[..start].trim_end_matches(|c: char| is_digit(c) || is_separator(c));
    if !follows_mask(text, before.len()) {
        return start;
    }
    // A mask keeps at most [`KEEP`] digits: a longer first group is a number of its own
    // (`**4111111111111111j@x.com`), which the address took in the first pass too.
    let kept = text[before.len()..]
        .trim_start_matches(is_separator)
        .chars()
        .take_while(|c| is_digit(*c))
        .count();
    if kept > KEEP {
        return start;
    }
    let mut at = start;
    loop {
        // Up to three `-` or `.` before a digit group, as the number pattern reads them.
        let seps: usize = text[at..]
            .chars()
            .take(3)
            .take_while(|c| matches!(c, '-' | '.'))
            .count();
        let digits: usize = text[at + seps..]
            .chars()
            .take_while(|c| is_digit(*c))
            .map(char::len_utf8)
            .sum();
        if digits == 0 {
            break;
        }
        at += seps + digits;
    }
    at + text[at..].len() - text[at..].trim_start_matches('@').len()
}

/// The masked copy, built only once something is replaced.
struct Output<'a> {
    text: &'a str,
    masked: Option<String>,
    /// Bytes of `text` already copied (or replaced).
    done: usize,
}

impl<'a> Output<'a> {
    fn new(text: &'a str) -> Self {
        Output {
            text,
            masked: None,
            done: 0,
        }
    }

    /// Replaces `text[start..end]`. A replacement may start inside the previous one, where
    /// that one copied `text[start..]` unchanged (the digits an IBAN's mask kept): that copy is
    /// taken back.
    fn replace(&mut self, start: usize, end: usize, with: String) {
        let out = self
            .masked
            .get_or_insert_with(|| String::with_capacity(self.text.len()));
        if start < self.done {
            debug_assert!(out.ends_with(&self.text[start..self.done]));
            out.truncate(out.len() - (self.done - start));
        } else {
            out.push_str(&self.text[self.done..start]);
        }
        out.push_str(&with);
        self.done = end;
    }

    fn finish(self) -> Cow<'a, str> {
        match self.masked {
            None => Cow::Borrowed(self.text),
            Some(mut out) => {
                out.push_str(&self.text[self.done..]);
                Cow::Owned(out)
            }
        }
    }
}

/// R13 phone rule on a whole value: white space dropped, every character but the last four
/// becomes `*`.
pub fn mask_phone(phone: &str) -> String {
    let kept: Vec<char> = phone.chars().filter(|c| !c.is_whitespace()).collect();
    let hidden = kept.len().saturating_sub(KEEP);
    kept.iter()
        .enumerate()
        .map(|(i, c)| if i < hidden { MASK } else { *c })
        .collect()
}

/// R13 e-mail rule on a whole value: `melissa@gmail.com` → `m******@gmail.com`. A value
/// without `@` is masked as free text.
pub fn mask_email(email: &str) -> String {
    let Some(at) = email.rfind('@') else {
        return mask_text(email).into_owned();
    };
    let (local, domain) = email.split_at(at);
    let mut out = String::with_capacity(email.len());
    for (i, c) in local.chars().enumerate() {
        out.push(if i == 0 { c } else { MASK });
    }
    out.push_str(domain);
    out
}

/// A customer's name: one that is a phone number (WhatsApp shows the number when a profile
/// has no name) is masked as a phone number; any other is masked as free text.
pub fn mask_name(name: &str) -> String {
    if is_phone_like(name) {
        mask_phone(name)
    } else {
        mask_text(name).into_owned()
    }
}

/// Only digits and phone punctuation, with at least seven digits.
fn is_phone_like(value: &str) -> bool {
    let mut digits = 0;
    for c in value.chars() {
        if is_digit(c) {
            digits += 1;
        } else if !(c.is_whitespace() || matches!(c, '+' | '-' | '(' | ')' | '.' | '/')) {
            return false;
        }
    }
    digits >= 7
}

/// Every digit but the last four becomes `*`; everything else stays.
fn mask_digits(value: &str) -> String {
    let total = value.chars().filter(|c| is_digit(*c)).count();
    let hidden = total.saturating_sub(KEEP);
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if is_digit(c) {
                seen += 1;
                if seen <= hidden {
                    return MASK;
                }
            }
            c
        })
        .collect()
}

/// The length of the longest prefix of `candidate` (ending at a group boundary, or at its
/// end unless it is `glued` to a mask) that is a mod-97 valid IBAN.
fn iban_end(candidate: &str, glued: bool) -> Option<usize> {
    let mut ends: Vec<usize> = candidate.match_indices(' ').map(|(i, _)| i).collect();
    if !glued {
        ends.push(candidate.len());
    }
    ends.into_iter()
        .rev()
        .find(|&end| is_valid_iban(&candidate[..end]))
}

fn is_valid_iban(value: &str) -> bool {
    let compact: Vec<u8> = value
        .bytes()
        .filter(|b| *b != b' ')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    // Country and check digits move to the end; letters count as 10..=35; mod 97 must be 1.
    let mut rest: u32 = 0;
    for &b in compact[4..].iter().chain(&compact[..4]) {
        rest = match b {
            b'0'..=b'9' => (rest * 10 + u32::from(b - b'0')) % 97,
            b'A'..=b'Z' => (rest * 100 + u32::from(b - b'A') + 10) % 97,
            _ => return false,
        };
    }
    rest == 1
}

/// A run of digits inside a number candidate (byte offsets in the text).
#[derive(Debug, Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
    digits: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Card,
    Ssn,
    Phone,
}

/// Confirms and masks the sensitive numbers in the candidate `text[start..end]`; returns
/// where to look next.
fn mask_number(text: &str, start: usize, end: usize, out: &mut Output<'_>) -> usize {
    let candidate = &text[start..end];
    // The shortest thing masked is a 7-digit international number: most dates, times and
    // amounts stop here.
    if candidate.chars().filter(|c| is_digit(*c)).count() < 7 {
        return end;
    }
    let plus = candidate.starts_with('+');
    let mut groups: Vec<Group> = Vec::new();
    for (i, c) in candidate.char_indices() {
        if is_digit(c) {
            match groups.last_mut() {
                Some(g) if g.end == start + i => {
                    g.end += c.len_utf8();
                    g.digits += 1;
                }
                _ => groups.push(Group {
                    start: start + i,
                    end: start + i + c.len_utf8(),
                    digits: 1,
                }),
            }
        }
    }
    // The (at most four) digits a mask left are not the start of another number.
    let mut i = 0;
    if groups.first().is_some_and(|g| follows_mask(text, g.start)) {
        let mut kept = 0;
        while i < groups.len() && kept + groups[i].digits <= KEEP {
            kept += groups[i].digits;
            i += 1;
        }
    }
    while i < groups.len() {
        let mut found = None;
        // Cards are the longest: 19 digits.
        let mut total = groups[i].digits;
        let mut last = i;
        while last + 1 < groups.len() && total + groups[last + 1].digits <= 19 {
            last += 1;
            total += groups[last].digits;
        }
        for j in (i..=last).rev() {
            if let Some(kind) = classify(text, &groups[i..=j], plus && i == 0) {
                found = Some((j, kind));
                break;
            }
        }
        match found {
            Some((j, kind)) => {
                let from = match kind {
                    Found::Phone if i == 0 => start,
                    Found::Phone if text[..groups[i].start].ends_with('(') => groups[i].start - 1,
                    _ => groups[i].start,
                };
                let span = &text[from..groups[j].end];
                let masked = match kind {
                    Found::Phone => mask_phone(span),
                    Found::Card | Found::Ssn => mask_digits(span),
                };
                out.replace(from, groups[j].end, masked);
                i = j + 1;
            }
            None => i += 1,
        }
    }
    end
}

/// What may stand between the digit groups of a number (the pattern's `SEP`).
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\u{A0}' | '-' | '.' | '(' | ')' | '\r' | '\n'
    )
}

/// Whether the digits at `at` are what a mask left: just after a `*`, with at least two `*`
/// among the stars and separators before them (one `*` alone is WhatsApp's bold).
fn follows_mask(text: &str, at: usize) -> bool {
    let before = text[..at].trim_end_matches(is_separator);
    if !before.ends_with(MASK) {
        return false;
    }
    let stars = before
        .chars()
        .rev()
        .take_while(|c| *c == MASK || is_separator(*c))
        .filter(|c| *c == MASK)
        .count();
    stars >= 2
}

/// What the digit groups `g` (with the separators between them) are, if anything sensitive.
fn classify(text: &str, g: &[Group], plus: bool) -> Option<Found> {
    let digits: usize = g.iter().map(|x| x.digits).sum();
    let seps = || g.windows(2).map(|w| &text[w[0].end..w[1].start]);
    if (13..=19).contains(&digits) && seps().all(is_card_separator) && luhn(text, g) {
        return Some(Found::Card);
    }
    if g.len() == 3
        && (g[0].digits, g[1].digits, g[2].digits) == (3, 2, 4)
        && (seps().all(|s| s == "-") || seps().all(|s| s == " "))
    {
        return Some(Found::Ssn);
    }
    if plus {
        if (7..=15).contains(&digits) && is_international_phone(&ascii_digits(text, g)) {
            return Some(Found::Phone);
        }
    } else if is_north_american_shape(text, g) && is_national_phone(&ascii_digits(text, g)) {
        return Some(Found::Phone);
    }
    None
}

fn is_card_separator(sep: &str) -> bool {
    let dashes = sep.matches('-').count();
    let breaks = sep.matches('\n').count();
    dashes + breaks <= 1
        && sep
            .chars()
            .all(|c| matches!(c, ' ' | '\t' | '\u{A0}' | '-' | '\r' | '\n'))
}

fn digits_of<'t>(text: &'t str, g: &'t [Group]) -> impl Iterator<Item = u32> + 't {
    g.iter()
        .flat_map(move |x| text[x.start..x.end].chars().filter_map(digit_value))
}

fn ascii_digits(text: &str, g: &[Group]) -> String {
    digits_of(text, g)
        .map(|d| char::from(b'0' + d as u8))
        .collect()
}

fn luhn(text: &str, g: &[Group]) -> bool {
    // Every second digit from the right is doubled: count from the left, knowing the length.
    let n: usize = g.iter().map(|x| x.digits).sum();
    let sum: u32 = digits_of(text, g)
        .enumerate()
        .map(|(i, d)| match (n - 1 - i) % 2 {
            1 if d * 2 > 9 => d * 2 - 9,
            1 => d * 2,
            _ => d,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// `NNN NNN NNNN`, `(NNN) NNN-NNNN`, `1 NNN NNN NNNN` or `NNNNNNNNNN`.
fn is_north_american_shape(text: &str, g: &[Group]) -> bool {
    let lens: Vec<usize> = g.iter().map(|x| x.digits).collect();
    match lens.as_slice() {
        [10] | [3, 3, 4] => true,
        [1, 3, 3, 4] => text[g[0].start..g[0].end] == *"1",
        _ => false,
    }
}

/// The dialable number types whose metadata says what a real number looks like.
const NUMBER_TYPES: [Type; 10] = [
    Type::FixedLine,
    Type::Mobile,
    Type::TollFree,
    Type::PremiumRate,
    Type::SharedCost,
    Type::PersonalNumber,
    Type::Voip,
    Type::Pager,
    Type::Uan,
    Type::Voicemail,
];

/// Lengths of national numbers, by country calling code, from libphonenumber's metadata.
/// Read once: `phonenumber::parse` costs tens of microseconds, a look-up here nanoseconds.
static POSSIBLE_LENGTHS: LazyLock<HashMap<u16, Vec<u16>>> = LazyLock::new(|| {
    let mut lengths: HashMap<u16, Vec<u16>> = HashMap::new();
    for meta in DATABASE.iter() {
        let known = lengths.entry(meta.country_code()).or_default();
        let descriptors = meta.descriptors();
        let general = std::iter::once(descriptors.general());
        for d in general.chain(NUMBER_TYPES.iter().filter_map(|t| descriptors.get(*t))) {
            known.extend_from_slice(d.possible_length());
        }
        known.sort_unstable();
        known.dedup();
    }
    lengths
});

/// libphonenumber's patterns for valid national numbers of [`DEFAULT_REGION`], anchored:
/// the number must match the general pattern and the pattern of one number type.
static NATIONAL_PATTERNS: LazyLock<Option<(Regex, Regex)>> = LazyLock::new(|| {
    let meta = DATABASE.by_id(DEFAULT_REGION.as_ref())?;
    let d = meta.descriptors();
    // The metadata keeps the XML's indentation inside its patterns.
    let compact = |p: &str| p.split_whitespace().collect::<String>();
    let anchored = |p: &str| Regex::new(&format!("^(?:{})$", compact(p))).ok();
    let general = anchored(d.general().national_number().as_str())?;
    let types: Vec<String> = NUMBER_TYPES
        .iter()
        .filter_map(|t| d.get(*t))
        .map(|x| format!("(?:{})", compact(x.national_number().as_str())))
        .collect();
    let any_type = anchored(&types.join("|"))?;
    Some((general, any_type))
});

/// `digits` after a `+`: a known country calling code (codes are prefix-free, one to three
/// digits) and a national number of a length that country uses. A `(0)` trunk prefix
/// written inside an international number (`+44 (0)7966 ...`) is allowed.
fn is_international_phone(digits: &str) -> bool {
    (1..=3).any(|k| {
        let (Some(code), Some(national)) = (digits.get(..k), digits.get(k..)) else {
            return false;
        };
        let Some(lengths) = code.parse().ok().and_then(|c| POSSIBLE_LENGTHS.get(&c)) else {
            return false;
        };
        let fits = |n: usize| lengths.contains(&(n as u16));
        fits(national.len()) || (national.starts_with('0') && fits(national.len() - 1))
    })
}

/// A valid number of [`DEFAULT_REGION`], written without a country code (a leading `1`, the
/// North American trunk prefix, is dropped).
fn is_national_phone(digits: &str) -> bool {
    let national = match digits.len() {
        11 => digits.strip_prefix('1').unwrap_or(digits),
        _ => digits,
    };
    NATIONAL_PATTERNS
        .as_ref()
        .is_some_and(|(general, any_type)| {
            general.is_match(national) && any_type.is_match(national)
        })
}

/// How a user sees customer data (R13), over HTTP and on the WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerDataView {
    /// Masking is off: everyone sees the stored data.
    Plain,
    /// Agents (and supervisors unless allowed) while masking is on.
    Masked,
    /// Admins (and allowed supervisors) while masking is on: unmasked, and the read is audited.
    Audited,
}

impl CustomerDataView {
    pub fn of(role: Role, masking_enabled: bool, supervisors_see_unmasked: bool) -> Self {
        if !masking_enabled {
            return CustomerDataView::Plain;
        }
        match role {
            Role::Admin => CustomerDataView::Audited,
            Role::Supervisor if supervisors_see_unmasked => CustomerDataView::Audited,
            Role::Supervisor | Role::Agent => CustomerDataView::Masked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CARD: &str = "4111 1111 1111 1111";
    const IBAN: &str = "GB82 WEST 1234 5698 7654 32";

    #[test]
    fn spec_examples_hold_exactly() {
        assert_eq!(mask_phone("+ 1 (123) 456 7890"), "**********7890");
        assert_eq!(mask_phone("+447966197542"), "*********7542");
        assert_eq!(mask_email("melissa@gmail.com"), "m******@gmail.com");
        assert_eq!(mask_text("melissa@gmail.com"), "m******@gmail.com");
        assert_eq!(mask_text("123-45-6789"), "***-**-6789");
        assert_eq!(mask_text(CARD), "**** **** **** 1111");
        assert_eq!(mask_text(IBAN), "GB** WEST **** **** **54 32");
        assert_eq!(mask_name("+447966197542"), "*********7542");
        assert_eq!(mask_name("+ 1 (123) 456 7890"), "**********7890");
    }

    #[test]
    fn short_values_and_plain_names() {
        assert_eq!(mask_phone(""), "");
        assert_eq!(mask_phone("1234"), "1234");
        assert_eq!(mask_phone("12345"), "*2345");
        assert_eq!(mask_name("Melissa Jones"), "Melissa Jones");
        assert_eq!(mask_name("Ann 2"), "Ann 2");
        assert_eq!(mask_name("melissa@gmail.com"), "m******@gmail.com");
        assert_eq!(mask_email("no address"), "no address");
        assert!(matches!(mask_text("nothing here"), Cow::Borrowed(_)));
        assert!(matches!(
            mask_text("order 12345 on 2024-05-17"),
            Cow::Borrowed(_)
        ));
    }

    /// (input, expected output). Each line is a decision: masked or deliberately left alone.
    const TRICKY: &[(&str, &str)] = &[
        // Phone numbers in text.
        ("call +44 7966 197542 now", "call *********7542 now"),
        ("call me on +447966197542.", "call me on *********7542."),
        ("+ 1 (123) 456 7890", "**********7890"),
        ("tel: +1 (415) 555-2671", "tel: ***********2671"),
        ("ring (650) 253-0000 today", "ring *********0000 today"),
        ("ring 650-253-0000", "ring ********0000"),
        ("ring 650.253.0000", "ring ********0000"),
        ("ring 6502530000", "ring ******0000"),
        ("ring 415-555-2671", "ring ********2671"),
        ("ring 1 650 253 0000", "ring *******0000"),
        ("whatsapp +49 30 12345678 pls", "whatsapp *********5678 pls"),
        // A number split across lines.
        ("+44 7966\n197542", "*********7542"),
        ("card 4111 1111\n1111 1111", "card **** ****\n**** 1111"),
        // Cards: spaces, dashes, none, Amex, trailing text and digits.
        ("4111-1111-1111-1111", "****-****-****-1111"),
        ("4111111111111111", "************1111"),
        ("amex 3782 822463 10005", "amex **** ****** *0005"),
        (
            "card: 4111 1111 1111 1111, exp 12/27",
            "card: **** **** **** 1111, exp 12/27",
        ),
        ("4111 1111 1111 1111 2024", "**** **** **** 1111 2024"),
        ("*4111 1111 1111 1111*", "***** **** **** 1111*"),
        // IBANs with and without spaces, lower case, followed by words.
        (
            "iban GB82WEST12345698765432 ok",
            "iban GB**WEST**********5432 ok",
        ),
        ("gb82 west 1234 5698 7654 32", "gb** west **** **** **54 32"),
        (
            "IBAN GB82 WEST 1234 5698 7654 32 THANKS",
            "IBAN GB** WEST **** **** **54 32 THANKS",
        ),
        ("DE89 3704 0044 0532 0130 00", "DE** **** **** **** **30 00"),
        // SSNs.
        ("ssn 123-45-6789.", "ssn ***-**-6789."),
        ("ssn 123 45 6789", "ssn *** ** 6789"),
        // E-mails with + and dots, in brackets, next to digits.
        (
            "mail melissa.j+shop@gmail.co.uk!",
            "mail m*************@gmail.co.uk!",
        ),
        ("<melissa@gmail.com>", "<m******@gmail.com>"),
        (
            "john.doe@example.com, 2 items",
            "j*******@example.com, 2 items",
        ),
        // Left alone: order numbers, dates, times, amounts, versions, short numbers.
        ("order #12345678", "order #12345678"),
        ("order 123456789 shipped", "order 123456789 shipped"),
        ("order 4111111111111112", "order 4111111111111112"),
        ("on 2024-05-17 at 10:30", "on 2024-05-17 at 10:30"),
        ("on 17.05.2024 at 10:30", "on 17.05.2024 at 10:30"),
        ("on 17/05/2024", "on 17/05/2024"),
        ("total 1,234.56 EUR", "total 1,234.56 EUR"),
        ("v1.2.3 build 20240517", "v1.2.3 build 20240517"),
        ("(123) 456-7890", "(123) 456-7890"),
        ("ref AB12 not an iban", "ref AB12 not an iban"),
        ("room 12, floor 3", "room 12, floor 3"),
        // Non-Latin scripts, other digits, emoji.
        (
            "Мой номер +7 912 345-67-89, спасибо",
            "Мой номер **********7-89, спасибо",
        ),
        ("电话：+86 138 0013 8000", "电话：**********8000"),
        ("رقمي +٩٧١ ٥٠ ١٢٣ ٤٥٦٧", "رقمي *********٤٥٦٧"),
        (
            "カード ４１１１ １１１１ １１１１ １１１１",
            "カード **** **** **** １１１１",
        ),
        ("📞 +447966197542 😀", "📞 *********7542 😀"),
        ("😀melissa@gmail.com😀", "😀m******@gmail.com😀"),
        // Glued values: each is masked once, and masking again changes nothing.
        (
            "+44 7966 197542melissa@gmail.com",
            "*********7542m******@gmail.com",
        ),
        (
            "melissa@gmail.com-4111 1111 1111 1111",
            "m******@gmail.com-**** **** **** 1111",
        ),
        (
            "melissa@gmail.commelissa@gmail.com",
            "m***********************@gmail.com",
        ),
        ("josé.garcía@correo.es", "j**********@correo.es"),
    ];

    #[test]
    fn tricky_cases() {
        let mut failures = Vec::new();
        for (input, expected) in TRICKY {
            let got = mask_text(input);
            if got != *expected {
                failures.push(format!("{input:?}\n   got {got:?}\n  want {expected:?}"));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    /// Found by `scripts/fuzz` (masking): "GB82 issaW3d 4111" happens to be mod-97 valid, so
    /// the IBAN took the card's first group and left the rest of the card readable; masking
    /// the result again then masked the card (not idempotent).
    #[test]
    fn a_card_glued_to_an_iban_is_masked_too() {
        let text = "IBAN GB82 issaW3d 4111 1111 1111 1111, ssn 122-45-6789.";
        assert!(is_valid_iban("GB82 issaW3d 4111"));
        masks_once_to(
            text,
            "IBAN GB** issaW*d **** **** **** 1111, ssn ***-**-6789.",
        );
        // A real IBAN followed by digits that are not a sensitive number: only the IBAN.
        assert_eq!(
            mask_text("GB82 WEST 1234 5698 7654 32 2024"),
            "GB** WEST **** **** **54 32 2024"
        );
    }

    /// `text` masked once; masking that again must change nothing.
    fn masked_once(text: &str) -> String {
        let once = mask_text(text).into_owned();
        assert_eq!(mask_text(&once), once, "masked twice: {text}");
        once
    }

    /// `text` masks to `masked`, and masking that again changes nothing.
    fn masks_once_to(text: &str, masked: &str) {
        assert_eq!(masked_once(text), masked, "{text}");
    }

    /// Found by `scripts/fuzz` (masking): the last four digits a card's mask kept, glued to
    /// an address, were read as its local part when masked again (not idempotent).
    #[test]
    fn the_digits_a_mask_kept_are_not_read_as_an_address() {
        masks_once_to(
            "card 4111 1111 1111 1111e@example.com",
            "card **** **** **** 1111e@example.com",
        );
        masked_once("ref 7654 32 698 76061-90-678e@gelii9l.co.");
    }

    /// Found by fuzzing (masking; the first in a CI run): the phone number took the digits
    /// before an `@`, the first pass read the address after it (`g@gmail.com`, nothing to
    /// hide), and a second pass read one from the `@` (`@g@gmail.com`), or from the digit
    /// group the phone left after the four it kept (`5@g@gmail.com`), and hid the `g`.
    #[test]
    fn the_rest_of_a_masked_number_does_not_begin_an_address() {
        for (text, masked) in [
            ("+49 301234-5@g@gmail.com", "*******34-5@g@gmail.com"),
            ("+49 301234-5@john@gmail.com", "*******34-5@j***@gmail.com"),
            ("+40 301234-5@g@gmail.com", "*****1234-5@g@gmail.com"),
            (
                "4111 1111 1111 1111 22j@x.com",
                "**** **** **** 1111 22j@x.com",
            ),
            (
                "4111 1111 1111 1111-22j@x.com",
                "**** **** **** 1111-22j@x.com",
            ),
            (
                "+49 3012-756-789.623-45634-5@g@gmail.bom",
                "***************.623-45634-5@g@gmail.bom",
            ),
            // What the address does not take is masked as a number: the card stays hidden.
            (
                "**** 1234-4111111111111111melissa@gmail.com",
                "**** 1234-************1111m******@gmail.com",
            ),
        ] {
            masks_once_to(text, masked);
        }
    }

    /// Found by `scripts/fuzz` (masking): "GB82 WEST 1234 5698SLail messa" happens to be
    /// mod-97 valid, and the IBAN took the local part of the address after it, which stayed
    /// readable.
    #[test]
    fn an_iban_does_not_take_the_local_part_of_an_address() {
        let text = "IBAN GB82 WEST 1234 5698SLail messa@gmail.com>";
        assert!(is_valid_iban("GB82 WEST 1234 5698SLail messa"));
        let once = masked_once(text);
        assert!(once.contains("m****@gmail.com"), "{once}");
        assert_eq!(
            mask_text("GB82 WEST 1234 5698 7654 32 john@example.com"),
            "GB** WEST **** **** **54 32 j***@example.com"
        );
    }

    /// Found by `scripts/fuzz` (masking): the digits in the domain of an address were read as
    /// a card once the address's local part was masked (not idempotent).
    #[test]
    fn the_domain_of_a_masked_address_stays() {
        for text in [
            "mail Yop@000000000000000000RU0000gmail.co.uk!",
            "mail ab@a.4111111111111111.com",
            "mail ab@GB82WEST12345698765432.com",
        ] {
            let once = masked_once(text);
            assert!(once.contains("*@"), "{once}");
        }
        // An address that only looks masked keeps its domain too; what follows is read.
        assert_eq!(
            mask_text("x*@a.b.com 4111 1111 1111 1111"),
            "x*@a.b.com **** **** **** 1111"
        );
    }

    /// Glued values on which versions of the fixes above were not idempotent.
    #[test]
    fn glued_values_stay_masked_once() {
        for (text, expected) in [
            (
                "4111111111111111+44 7966 197542melissa@gmail.com",
                "************1111*********7542m******@gmail.com",
            ),
            (
                "GB82 WEST 1234 5698 7654 32-melissa@gmail.com",
                "GB** WEST **** **** **54 3*********@gmail.com",
            ),
        ] {
            masks_once_to(text, expected);
        }
    }

    #[test]
    fn iban_checks_mod_97() {
        assert!(is_valid_iban("GB82WEST12345698765432"));
        assert!(!is_valid_iban("GB83WEST12345698765432"));
        assert!(is_valid_iban("NO9386011117947"));
        assert!(!is_valid_iban("GB82"));
    }

    #[test]
    fn a_four_kilobyte_message_masks_quickly() {
        let text = dense_text(4096);
        let started = std::time::Instant::now();
        for _ in 0..10 {
            std::hint::black_box(mask_text(std::hint::black_box(&text)));
        }
        // Generous for debug builds; `cargo bench --bench masking` gives the real numbers.
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    fn dense_text(chars: usize) -> String {
        let unit = "Card 4111 1111 1111 1111, call +44 7966 197542, mail melissa@gmail.com. ";
        unit.chars().cycle().take(chars).collect()
    }

    /// A Luhn-valid card number of `len` digits starting with `prefix` digits.
    fn luhn_complete(body: &[u32]) -> Vec<u32> {
        let mut digits = body.to_vec();
        for check in 0..10 {
            digits.push(check);
            let s: String = digits.iter().map(|d| char::from(b'0' + *d as u8)).collect();
            let g = [Group {
                start: 0,
                end: s.len(),
                digits: s.len(),
            }];
            if luhn(&s, &g) {
                return digits;
            }
            digits.pop();
        }
        unreachable!("one check digit always fits")
    }

    fn card_strategy() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(0u32..10, 12..=18),
            prop::sample::select(vec![" ", "-", ""]),
        )
            .prop_map(|(mut body, sep)| {
                body[0] = 4;
                let digits = luhn_complete(&body);
                let mut s = String::new();
                for (i, d) in digits.iter().enumerate() {
                    if i > 0 && i % 4 == 0 {
                        s.push_str(sep);
                    }
                    s.push(char::from(b'0' + *d as u8));
                }
                s
            })
    }

    fn phone_strategy() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(0u32..10, 9),
            prop::sample::select(vec![" ", "-", ""]),
        )
            .prop_map(|(rest, sep)| {
                let d: String = rest.iter().map(|d| char::from(b'0' + *d as u8)).collect();
                format!("+44{sep}7{}{sep}{}", &d[..3], &d[3..])
            })
    }

    /// Text that is mostly the characters numbers, e-mails and IBANs are made of.
    fn numberish_text() -> impl Strategy<Value = String> {
        "[0-9 +()\\-.\\n@a-zA-Z*٠-٩😀é]{0,120}"
    }

    /// Sensitive values, their look-alikes and separators, glued in any order. (A bare `@`
    /// is left out: `4111…@4111….GB82 WEST…` makes an address of a card and half an IBAN.)
    fn token_text() -> impl Strategy<Value = String> {
        let tokens = vec![
            CARD,
            IBAN,
            "4111111111111111",
            "123-45-6789",
            "+447966197542",
            "+44 7966 197542",
            "(650) 253-0000",
            "melissa@gmail.com",
            "2024-05-17",
            "1234",
            "12",
            "0",
            " ",
            "-",
            "\n",
            "*",
            "**",
            "+",
            "(",
            ".",
            "a",
            "é",
            "😀",
            "٤١١١",
        ];
        prop::collection::vec(prop::sample::select(tokens), 0..24).prop_map(|t| t.concat())
    }

    fn last_four_digits(s: &str) -> String {
        let digits: Vec<char> = s.chars().filter(|c| c.is_ascii_digit()).collect();
        digits[digits.len().saturating_sub(4)..].iter().collect()
    }

    fn last_four(s: &str) -> String {
        let chars: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    }

    proptest! {
        #[test]
        fn never_panics_on_any_input(s in any::<String>()) {
            let _ = mask_text(&s);
            let _ = mask_name(&s);
            let _ = mask_phone(&s);
            let _ = mask_email(&s);
        }

        #[test]
        fn is_idempotent(s in numberish_text()) {
            let once = mask_text(&s).into_owned();
            prop_assert_eq!(mask_text(&once), once.as_str());
            let name = mask_name(&s);
            prop_assert_eq!(mask_name(&name), name.clone());
        }

        #[test]
        fn is_idempotent_on_glued_values(s in token_text()) {
            let once = mask_text(&s).into_owned();
            prop_assert_eq!(mask_text(&once), once.as_str());
            prop_assert!(once.chars().count() <= s.chars().count());
        }

        #[test]
        fn is_idempotent_on_any_input(s in any::<String>()) {
            let once = mask_text(&s).into_owned();
            prop_assert_eq!(mask_text(&once), once.as_str());
        }

        #[test]
        fn never_lengthens(s in numberish_text()) {
            prop_assert!(mask_text(&s).chars().count() <= s.chars().count());
            prop_assert!(mask_phone(&s).chars().count() <= s.chars().count());
            prop_assert!(mask_name(&s).chars().count() <= s.chars().count());
        }

        #[test]
        fn cards_are_masked_keeping_the_last_four(card in card_strategy(), before in "[a-z ]{0,10}", after in "[ .,!a-z]{0,10}") {
            let text = format!("{before} {card}{after}");
            let masked = mask_text(&text).into_owned();
            prop_assert_eq!(masked.chars().count(), text.chars().count());
            let digits: String = masked.chars().filter(|c| c.is_ascii_digit()).collect();
            prop_assert_eq!(digits, last_four_digits(&card), "{}", masked);
            // Everything from the fourth digit from the end stays as it was.
            let fourth_last = card.char_indices().filter(|(_, c)| c.is_ascii_digit()).nth_back(3).unwrap().0;
            let tail = format!("{}{after}", &card[fourth_last..]);
            prop_assert!(masked.ends_with(&tail), "{}", masked);
        }

        #[test]
        fn phones_are_masked_keeping_the_last_four(phone in phone_strategy(), before in "[a-z ]{0,10}") {
            let text = format!("{before} {phone} ok");
            let masked = mask_text(&text).into_owned();
            prop_assert!(masked.chars().count() <= text.chars().count());
            let expected = format!("{before} {} ok", mask_phone(&phone));
            prop_assert_eq!(&masked, &expected);
            let tail = format!("{} ok", last_four(&phone));
            prop_assert!(masked.ends_with(&tail));
            prop_assert_eq!(last_four(&mask_phone(&phone)), last_four(&phone));
        }

        #[test]
        fn mask_phone_keeps_the_last_four_characters(s in "\\PC{0,40}") {
            let masked = mask_phone(&s);
            prop_assert_eq!(last_four(&masked), last_four(&s));
            let hidden = masked.chars().count().saturating_sub(4);
            prop_assert!(masked.chars().take(hidden).all(|c| c == '*'));
        }
    }
}
