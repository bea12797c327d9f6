//! `heap::info()`/`heap::trim()` inside programs memsight's own tests are not: a non-PIE
//! executable that takes malloc's address (its dynamic symbol table then holds an undefined
//! `malloc` at the fixed address of a PLT stub, which `dlsym(RTLD_DEFAULT)` answers with, as in
//! Debian's `/usr/bin/python3`), the system's python3 itself, and, for contrast, programs whose
//! malloc really is replaced (`LD_PRELOAD`, or defined by the executable), where they must still
//! say so. memsight gets into those processes as examples/heap_probe.rs, a shared library that
//! `cargo test` builds; the programs are compiled here with gcc.
#![cfg(all(
    target_os = "linux",
    target_env = "gnu",
    not(any(feature = "jemalloc", feature = "mimalloc"))
))]
#![allow(clippy::unwrap_used)]

use memsight_test_support as support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::skip_or_fail;

/// `memsight_heap_probe()`'s answers.
const GLIBC: i32 = 0;
const UNSUPPORTED: i32 = 1;

/// The probe library, next to this test binary's directory (`target/PROFILE/examples`).
fn probe() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let lib = profile.join("examples/libheap_probe.so");
    if !lib.exists() {
        skip_or_fail(
            &format!(
                "{} is missing: `cargo test`/`cargo nextest run` without a target filter builds it \
                 (or `cargo build -p memsight --examples`)",
                lib.display()
            ),
            false,
        );
    }
    lib
}

/// Compiles `source` with gcc and `flags` into `dir/name`.
fn gcc(dir: &Path, name: &str, source: &str, flags: &[&str]) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let out = dir.join(name);
    let status = Command::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .arg("-ldl")
        .status();
    match status {
        Ok(s) if s.success() => out,
        Ok(s) => panic!("gcc failed ({s}) on {name}"),
        Err(e) => skip_or_fail(&format!("gcc cannot run ({e})"), false),
    }
}

/// A program that takes malloc's address in its own code, then loads the probe given as its
/// argument and returns its answer.
const PROGRAM: &str = r#"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
void *(*volatile keep)(size_t);
int main(int argc, char **argv) {
    keep = malloc;
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 3; }
    int (*probe)(void) = (int (*)(void))dlsym(h, "memsight_heap_probe");
    free(keep(16));
    return probe();
}
"#;

/// A malloc replacement: defines `malloc` (forwarding to glibc's, so the program still works).
const REPLACEMENT: &str = r#"
#include <stddef.h>
extern void *__libc_malloc(size_t);
void *malloc(size_t n) { return __libc_malloc(n); }
"#;

fn answer(out: &Output) -> i32 {
    let code = out.status.code().unwrap();
    assert!(
        code == GLIBC || code == UNSUPPORTED,
        "exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    code
}

fn dyn_malloc(exe: &Path) -> String {
    let out = Command::new("readelf")
        .args(["--dyn-syms", "-W"])
        .arg(exe)
        .output();
    let Ok(out) = out else {
        return String::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| {
            l.split_whitespace()
                .nth(7)
                .is_some_and(|n| n.starts_with("malloc@") || n == "malloc")
        })
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn non_pie_program_with_a_canonical_malloc_is_glibc() {
    let probe = probe();
    let dir = tempfile::tempdir().unwrap();
    let exe = gcc(
        dir.path(),
        "nopie",
        PROGRAM,
        &["-no-pie", "-fno-pie", "-O0"],
    );
    // The case at hand: an undefined malloc with a non-zero value (the PLT stub's address).
    let sym = dyn_malloc(&exe);
    if !sym.is_empty() {
        let fields: Vec<&str> = sym.split_whitespace().collect();
        assert_eq!(fields[6], "UND", "{sym}");
        assert_ne!(u64::from_str_radix(fields[1], 16).unwrap(), 0, "{sym}");
    }
    let out = Command::new(&exe).arg(&probe).output().unwrap();
    assert_eq!(
        answer(&out),
        GLIBC,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same program as PIE.
    let pie = gcc(dir.path(), "pie", PROGRAM, &["-pie", "-fpie", "-O0"]);
    let out = Command::new(&pie).arg(&probe).output().unwrap();
    assert_eq!(
        answer(&out),
        GLIBC,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_replaced_malloc_is_still_detected() {
    let probe = probe();
    let dir = tempfile::tempdir().unwrap();
    let lib = gcc(dir.path(), "librepl.so", REPLACEMENT, &["-shared", "-fpic"]);
    for (name, flags) in [
        ("nopie", ["-no-pie", "-fno-pie"]),
        ("pie", ["-pie", "-fpie"]),
    ] {
        let exe = gcc(dir.path(), name, PROGRAM, &flags);
        let out = Command::new(&exe)
            .arg(&probe)
            .env("LD_PRELOAD", &lib)
            .output()
            .unwrap();
        assert_eq!(answer(&out), UNSUPPORTED, "{name} with LD_PRELOAD");
        assert!(String::from_utf8_lossy(&out.stderr).contains("not glibc's"));
    }
    // Defined by the non-PIE executable itself.
    let own = format!("{REPLACEMENT}{PROGRAM}");
    let exe = gcc(dir.path(), "own", &own, &["-no-pie", "-fno-pie"]);
    let out = Command::new(&exe).arg(&probe).output().unwrap();
    assert_eq!(
        answer(&out),
        UNSUPPORTED,
        "malloc defined by the executable"
    );
}

#[test]
fn system_python3_is_glibc_and_a_preloaded_malloc_is_not() {
    let probe = probe();
    let python = Path::new("/usr/bin/python3");
    if !python.exists() {
        skip_or_fail("/usr/bin/python3 is missing", false);
    }
    let script = format!(
        "import ctypes, sys; sys.exit(ctypes.CDLL({:?}).memsight_heap_probe())",
        probe.to_str().unwrap()
    );
    let out = Command::new(python).args(["-c", &script]).output().unwrap();
    assert_eq!(
        answer(&out),
        GLIBC,
        "python3 ({}): {}",
        dyn_malloc(python),
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let lib = gcc(dir.path(), "librepl.so", REPLACEMENT, &["-shared", "-fpic"]);
    let out = Command::new(python)
        .args(["-c", &script])
        .env("LD_PRELOAD", &lib)
        .output()
        .unwrap();
    assert_eq!(answer(&out), UNSUPPORTED, "python3 with LD_PRELOAD");
}
