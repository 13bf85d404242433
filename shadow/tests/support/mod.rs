//! Helpers shared by the tests that run the real `shadow` binary.

#![allow(dead_code, unreachable_pub)]

use std::{
    fs,
    path::PathBuf,
    process::Command,
    sync::atomic::{AtomicUsize, Ordering},
};

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the `shadow` binary with `args`.
pub fn shadow(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_shadow"))
        .args(args)
        .env_remove("SHADOW_LOG")
        .output()
        .expect("the shadow binary runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// A fresh, empty directory under the system temp dir, its name starting with `prefix`.
pub fn temp_dir(prefix: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Deterministic noise in `[-amplitude, amplitude)`.
pub fn noise(i: usize, amplitude: f64) -> f64 {
    let x = (i as u64)
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    ((x >> 33) % 1000) as f64 / 1000.0 * 2.0 * amplitude - amplitude
}

/// Asserts that the run failed with exit code 1 and one stderr line `error: ...` containing `needle`, no panic.
pub fn assert_clean_error(run: &Run, needle: &str) {
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "stderr is one line: {run:?}");
    assert!(run.stderr.starts_with("error: "), "{run:?}");
    assert!(run.stderr.contains(needle), "want `{needle}` in {:?}", run.stderr);
}
