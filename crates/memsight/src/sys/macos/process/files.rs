//! What a process has open and where it runs from on macOS: exe, cwd, num_fds, open_files
//! (`proc_pidpath`, `proc_pidinfo`, `proc_pidfdinfo`).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::super::errno;
use super::super::ffi::{PROC_PIDFDVNODEPATHINFO, VnodeFdInfoWithPath, vip_path};
use super::{OpenFile, Process};
use crate::error::{Error, Result};

/// The largest descriptor table memsight reads (psutil's 24 MiB cap).
const MAX_FD_TABLE: usize = 24 << 20;

impl Process {
    /// Backs [`crate::Process::exe`], where it is documented with every OS's source.
    pub fn exe(&self) -> Result<PathBuf> {
        if self.pid == 0 {
            return Err(Error::call_denied(Some(0), "proc_pidpath"));
        }
        let mut buf = vec![0u8; libc::PROC_PIDPATHINFO_MAXSIZE as usize];
        // SAFETY: `buf` has the length passed.
        let ret = unsafe {
            libc::proc_pidpath(
                self.pid as libc::c_int,
                buf.as_mut_ptr().cast(),
                buf.len() as u32,
            )
        };
        if ret <= 0 {
            let e = errno();
            if e == libc::ENOENT {
                return self.checked(PathBuf::new());
            }
            return Err(self.fail("proc_pidpath", e));
        }
        buf.truncate((ret as usize).min(buf.len()));
        self.checked(PathBuf::from(OsStr::from_bytes(&buf)))
    }

    /// Backs [`crate::Process::cwd`], where it is documented with every OS's source.
    pub fn cwd(&self) -> Result<PathBuf> {
        // SAFETY: proc_vnodepathinfo is plain data; all-zero is valid.
        let zero: libc::proc_vnodepathinfo = unsafe { std::mem::zeroed() };
        let info = self.pidinfo(libc::PROC_PIDVNODEPATHINFO, 0, zero)?;
        Ok(vip_path(&info.pvi_cdir))
    }

    /// The descriptor table (`proc_pidinfo(PROC_PIDLISTFDS)`): a size probe, then a buffer with
    /// room for 32 more, grown and read again while it comes back full (psutil's loop).
    fn fd_list(&self) -> Result<Vec<libc::proc_fdinfo>> {
        let entry = std::mem::size_of::<libc::proc_fdinfo>();
        // SAFETY: a size probe: null buffer, size 0.
        let probe = unsafe {
            libc::proc_pidinfo(
                self.pid as libc::c_int,
                libc::PROC_PIDLISTFDS,
                0,
                std::ptr::null_mut(),
                0,
            )
        };
        if probe <= 0 {
            return Err(self.fail("proc_pidinfo PROC_PIDLISTFDS", errno()));
        }
        let mut cap = probe as usize / entry + 32;
        loop {
            let zero = libc::proc_fdinfo {
                proc_fd: 0,
                proc_fdtype: 0,
            };
            let mut fds = vec![zero; cap];
            let bytes = (cap * entry) as libc::c_int;
            // SAFETY: `fds` has `bytes` writable bytes of proc_fdinfo.
            let ret = unsafe {
                libc::proc_pidinfo(
                    self.pid as libc::c_int,
                    libc::PROC_PIDLISTFDS,
                    0,
                    fds.as_mut_ptr().cast(),
                    bytes,
                )
            };
            if ret <= 0 {
                return Err(self.fail("proc_pidinfo PROC_PIDLISTFDS", errno()));
            }
            let n = ret as usize / entry;
            if n < cap || cap * entry >= MAX_FD_TABLE {
                fds.truncate(n.min(cap));
                return self.checked(fds);
            }
            cap = cap * 2 + 32;
        }
    }

    /// Backs [`crate::Process::num_fds`], where it is documented with every OS's source.
    pub fn num_fds(&self) -> Result<usize> {
        if self.pid == 0 {
            return Ok(0);
        }
        Ok(self.fd_list()?.len())
    }

    /// Backs [`crate::Process::open_files`], where it is documented with every OS's source.
    pub fn open_files(&self) -> Result<Vec<OpenFile>> {
        if self.pid == 0 {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for fd in self.fd_list()? {
            if fd.proc_fdtype != libc::PROX_FDTYPE_VNODE as u32 {
                continue;
            }
            // SAFETY: the struct is plain data; all-zero is valid.
            let mut vi: VnodeFdInfoWithPath = unsafe { std::mem::zeroed() };
            let size = std::mem::size_of::<VnodeFdInfoWithPath>() as libc::c_int;
            // SAFETY: `vi` is a live, writable struct of `size` bytes.
            let ret = unsafe {
                libc::proc_pidfdinfo(
                    self.pid as libc::c_int,
                    fd.proc_fd,
                    PROC_PIDFDVNODEPATHINFO,
                    (&raw mut vi).cast(),
                    size,
                )
            };
            if ret <= 0 || ret < size {
                let e = if ret <= 0 { errno() } else { 0 };
                if e == libc::ENOENT || e == libc::EBADF {
                    continue;
                }
                return Err(self.fail("proc_pidfdinfo PROC_PIDFDVNODEPATHINFO", e));
            }
            let path = vip_path(&vi.pvip);
            if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                out.push(OpenFile {
                    path,
                    fd: fd.proc_fd as u32,
                });
            }
        }
        self.checked(out)
    }
}
