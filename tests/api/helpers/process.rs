//! What the server process holds open, read from /proc (leak checks).

/// What each open descriptor of process `pid` points to (`socket:[…]`, a path, `anon_inode:…`),
/// sorted; empty once the process is gone.
pub fn open_descriptors(pid: u32) -> Vec<String> {
    let mut targets: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .map(|t| t.to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    targets.sort();
    targets
}

pub fn is_socket(target: &str) -> bool {
    target.starts_with("socket:")
}
