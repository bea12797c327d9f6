//! Reading a process that holds files on a FUSE mount whose server stopped answering must not
//! hang. psutil looks up the paths it finds in `/proc/PID/fd` and in the maps by name (`stat`,
//! `isfile`, `exists` for ` (deleted)`), and a lookup on a stalled FUSE mount waits for ever, in
//! D state. memsight asks the kernel about the held files themselves (`statx` on the magic links
//! with `AT_STATX_DONT_SYNC`), which the FUSE server never sees.
//!
//! The test is its own FUSE server (the kernel protocol over `/dev/fuse`, a few operations),
//! with attributes and entries valid for 0 s so that any lookup by name must ask it. A python
//! child opens a file there, maps another whose name really ends in ` (deleted)`, and moves its
//! cwd there; then the server stops answering and the child is read. Needs root and FUSE.

#![cfg(target_os = "linux")]
#![allow(unsafe_code, clippy::unwrap_used)]

use memsight_test_support as support;

use std::io::{BufRead, BufReader};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use memsight::Process;
use support::{require_root, skip_or_fail};

/// Skips the test when the host offers no FUSE (no `/dev/fuse`, or mounting refused, as in an
/// unprivileged container): that is the machine's property, not something setup can install, so
/// it is a skip with the reason even in CI. The lookup logic itself is still covered there by the
/// unit tests of `strip_deleted` and the `statx` flags.
fn no_fuse(reason: &str) -> ! {
    eprintln!("skipped: {reason}");
    if std::env::var_os("NEXTEST").is_some() {
        std::process::exit(0);
    }
    panic!("skipped: {reason} (under cargo test a skip cannot end the process; use nextest)");
}

const FUSE_LOOKUP: u32 = 1;
const FUSE_FORGET: u32 = 2;
const FUSE_GETATTR: u32 = 3;
const FUSE_OPEN: u32 = 14;
const FUSE_INIT: u32 = 26;
const FUSE_INTERRUPT: u32 = 36;
const FUSE_BATCH_FORGET: u32 = 42;

const ROOT: u64 = 1;
/// The files: (name, inode).
const FILES: [(&[u8], u64); 2] = [(b"held", 2), (b"mapped (deleted)", 3)];
const FILE_SIZE: u64 = 4096;

/// `struct fuse_in_header`.
#[repr(C)]
#[derive(Clone, Copy)]
struct InHeader {
    len: u32,
    opcode: u32,
    unique: u64,
    nodeid: u64,
    uid: u32,
    gid: u32,
    pid: u32,
    total_extlen: u16,
    padding: u16,
}
const _: () = assert!(std::mem::size_of::<InHeader>() == 40);

/// `struct fuse_attr`, as bytes (88).
fn attr(ino: u64) -> Vec<u8> {
    let (mode, nlink, size) = if ino == ROOT {
        (libc::S_IFDIR | 0o755, 2u32, 0u64)
    } else {
        (libc::S_IFREG | 0o644, 1u32, FILE_SIZE)
    };
    let mut a = Vec::with_capacity(88);
    a.extend(ino.to_ne_bytes());
    a.extend(size.to_ne_bytes());
    a.extend(size.div_ceil(512).to_ne_bytes()); // blocks
    a.extend([0u8; 24]); // atime, mtime, ctime
    a.extend([0u8; 12]); // their nanoseconds
    a.extend(mode.to_ne_bytes());
    a.extend(nlink.to_ne_bytes());
    a.extend(0u32.to_ne_bytes()); // uid
    a.extend(0u32.to_ne_bytes()); // gid
    a.extend(0u32.to_ne_bytes()); // rdev
    a.extend(4096u32.to_ne_bytes()); // blksize
    a.extend(0u32.to_ne_bytes()); // flags
    assert_eq!(a.len(), 88);
    a
}

fn reply(fd: &OwnedFd, unique: u64, error: i32, body: &[u8]) {
    let mut out = Vec::with_capacity(16 + body.len());
    out.extend((16 + body.len() as u32).to_ne_bytes());
    out.extend(error.to_ne_bytes());
    out.extend(unique.to_ne_bytes());
    out.extend(body);
    // A request interrupted meanwhile is answered with ENOENT by the kernel: not an error here.
    let _ = rustix::io::write(fd, &out);
}

/// Answers one request.
fn serve_one(fd: &OwnedFd, req: &[u8]) {
    // SAFETY: the kernel writes a whole fuse_in_header at the start of every request, and the
    // read was checked to hold at least its size; read_unaligned copies it out.
    let h: InHeader = unsafe { std::ptr::read_unaligned(req.as_ptr().cast()) };
    let body = &req[40..(h.len as usize).min(req.len())];
    match h.opcode {
        FUSE_INIT => {
            let mut out = Vec::new();
            out.extend(7u32.to_ne_bytes()); // major
            out.extend(31u32.to_ne_bytes()); // minor
            out.extend(0u32.to_ne_bytes()); // max_readahead
            out.extend(0u32.to_ne_bytes()); // flags
            out.extend(1u16.to_ne_bytes()); // max_background
            out.extend(1u16.to_ne_bytes()); // congestion_threshold
            out.extend(4096u32.to_ne_bytes()); // max_write
            out.extend(1u32.to_ne_bytes()); // time_gran
            out.extend(0u16.to_ne_bytes()); // max_pages
            out.extend(0u16.to_ne_bytes()); // map_alignment
            out.extend(0u32.to_ne_bytes()); // flags2
            out.extend(0u32.to_ne_bytes()); // max_stack_depth
            out.extend([0u8; 24]); // unused
            assert_eq!(out.len(), 64);
            reply(fd, h.unique, 0, &out);
        }
        FUSE_LOOKUP => {
            let name = body.strip_suffix(b"\0").unwrap_or(body);
            match FILES.iter().find(|(n, _)| *n == name) {
                Some(&(_, ino)) if h.nodeid == ROOT => {
                    let mut out = Vec::new();
                    out.extend(ino.to_ne_bytes()); // nodeid
                    out.extend(0u64.to_ne_bytes()); // generation
                    out.extend(0u64.to_ne_bytes()); // entry_valid: 0 s, ask every time
                    out.extend(0u64.to_ne_bytes()); // attr_valid
                    out.extend(0u32.to_ne_bytes());
                    out.extend(0u32.to_ne_bytes());
                    out.extend(attr(ino));
                    reply(fd, h.unique, 0, &out);
                }
                _ => reply(fd, h.unique, -libc::ENOENT, &[]),
            }
        }
        FUSE_GETATTR => {
            let mut out = Vec::new();
            out.extend(0u64.to_ne_bytes()); // attr_valid: 0 s
            out.extend(0u32.to_ne_bytes());
            out.extend(0u32.to_ne_bytes());
            out.extend(attr(h.nodeid));
            reply(fd, h.unique, 0, &out);
        }
        FUSE_OPEN => {
            let mut out = Vec::new();
            out.extend(0u64.to_ne_bytes()); // fh
            out.extend(0u32.to_ne_bytes()); // open_flags
            out.extend(0u32.to_ne_bytes());
            reply(fd, h.unique, 0, &out);
        }
        FUSE_FORGET | FUSE_BATCH_FORGET | FUSE_INTERRUPT => {}
        _ => reply(fd, h.unique, -libc::ENOSYS, &[]),
    }
}

/// A mounted FUSE file system served by a thread, until `answering` is cleared (it then leaves
/// requests unread: a stalled server). Dropping it ends the thread, which closes the device (the
/// kernel then fails every waiting request) and detaches the mount.
struct Fuse {
    mountpoint: PathBuf,
    answering: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Fuse {
    fn mount() -> Fuse {
        require_root("mounting a FUSE file system");
        let dir = tempfile::tempdir().unwrap();
        let mountpoint = dir.path().join("mnt");
        std::fs::create_dir(&mountpoint).unwrap();
        let fd = match rustix::fs::open(
            "/dev/fuse",
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(e) => no_fuse(&format!("FUSE is not available here: /dev/fuse: {e}")),
        };
        let options = format!("fd={},rootmode=40000,user_id=0,group_id=0", fd.as_raw_fd());
        let target = std::ffi::CString::new(mountpoint.to_str().unwrap()).unwrap();
        let options = std::ffi::CString::new(options).unwrap();
        // SAFETY: NUL-terminated strings that outlive the call; mount(2) only reads them.
        let mounted = unsafe {
            libc::mount(
                c"memsight-test".as_ptr(),
                target.as_ptr(),
                c"fuse".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                options.as_ptr().cast(),
            )
        };
        if mounted != 0 {
            let e = std::io::Error::last_os_error();
            no_fuse(&format!("FUSE cannot be mounted here: {e}"));
        }
        let answering = Arc::new(AtomicBool::new(true));
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let (answering, done) = (answering.clone(), done.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 20];
                while !done.load(Ordering::SeqCst) {
                    let mut pfd = libc::pollfd {
                        fd: fd.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd for the duration of the call.
                    let ready = unsafe { libc::poll(&mut pfd, 1, 20) };
                    if ready <= 0 {
                        continue;
                    }
                    if pfd.revents & libc::POLLERR != 0 {
                        break;
                    }
                    if !answering.load(Ordering::SeqCst) {
                        // Stalled: leave the request unread; the kernel waits.
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    match rustix::io::read(fd.as_fd(), &mut buf) {
                        Ok(n) if n >= 40 => serve_one(&fd, &buf[..n]),
                        Ok(_) => {}
                        Err(rustix::io::Errno::NODEV) => break,
                        Err(_) => {}
                    }
                }
                // Dropping the last descriptor of the connection aborts it: waiting requests fail.
                drop(fd);
            })
        };
        Fuse {
            mountpoint,
            answering,
            done,
            thread: Some(thread),
            _dir: dir,
        }
    }
}

impl Drop for Fuse {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Ok(target) = std::ffi::CString::new(self.mountpoint.to_str().unwrap_or_default()) {
            // SAFETY: a NUL-terminated path; umount2 only reads it.
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// Runs `f` on a thread and waits for it; a stall (the reader stuck on the FUSE mount) ends the
/// server, which fails the stuck request, and the test.
fn without_hanging<T: Send + 'static>(
    fuse: &Fuse,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    // Not a timing assertion: a read that is not stuck returns in milliseconds, and a stuck one
    // never would (the server does not answer); the bound only turns a hang into a failure.
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(v) => v,
        Err(_) => {
            fuse.done.store(true, Ordering::SeqCst);
            panic!("{what} hung on the stalled FUSE mount");
        }
    }
}

fn python() -> PathBuf {
    ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| skip_or_fail("python3 is missing", false))
}

#[test]
fn reading_a_process_with_files_on_a_stalled_fuse_mount_does_not_hang() {
    // Declared before the mount so that it is dropped after it: the server ends first (failing
    // what waits on it), then the child is killed, whose exit would otherwise wait on the stalled
    // server to close its files.
    let mut child: support::Kid;
    let fuse = Fuse::mount();
    let mnt = fuse.mountpoint.clone();
    let script = format!(
        "import mmap, os, sys\n\
         held = open({held:?}, 'rb')\n\
         m = open({mapped:?}, 'rb')\n\
         view = mmap.mmap(m.fileno(), 4096, prot=mmap.PROT_READ)\n\
         os.chdir({mnt:?})\n\
         print('ready', flush=True)\n\
         sys.stdin.read()\n",
        held = mnt.join("held").to_str().unwrap(),
        mapped = mnt.join("mapped (deleted)").to_str().unwrap(),
        mnt = mnt.to_str().unwrap(),
    );
    child = support::Kid(
        Command::new(python())
            .args(["-I", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    let pid = child.0.id();
    fuse.answering.store(false, Ordering::SeqCst);

    let held = mnt.join("held");
    let files = without_hanging(&fuse, "open_files", move || {
        Process::new(pid).unwrap().open_files().unwrap()
    });
    assert!(files.iter().any(|f| f.path == held), "{files:?}");

    let mapped = mnt.join("mapped (deleted)");
    for grouped in [false, true] {
        let maps = without_hanging(&fuse, "memory_maps", move || {
            Process::new(pid).unwrap().memory_maps(grouped).unwrap()
        });
        // Its name really ends so and the file has a link: the suffix stays.
        assert!(
            maps.iter().any(|m| m.path_os == mapped),
            "{:?}",
            maps.iter().map(|m| &m.path).collect::<Vec<_>>()
        );
    }

    let cwd = without_hanging(&fuse, "cwd", move || {
        Process::new(pid).unwrap().cwd().unwrap()
    });
    assert_eq!(cwd, mnt);
    let info = without_hanging(&fuse, "info", move || {
        Process::new(pid).unwrap().info().unwrap()
    });
    assert_eq!(info.cwd.as_deref(), Some(mnt.as_path()));
    assert!(
        info.open_files
            .is_some_and(|f| f.iter().any(|f| f.path == held))
    );

    drop(fuse);
    drop(child);
}
