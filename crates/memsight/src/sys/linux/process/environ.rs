//! The environment a process started with: `environ()` from `/proc/PID/environ`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use crate::error::Result;
use crate::sys::process::Process;
use crate::sys::procfs::{self, environ, pid_stat};

/// `PF_KTHREAD` in `/proc/PID/stat` field 9: the task is a kernel thread.
const PF_KTHREAD: u64 = 0x0020_0000;

impl Process {
    /// Backs [`crate::Process::environ`], where it is documented with every OS's source.
    pub fn environ(&self) -> Result<BTreeMap<String, String>> {
        self.with_environ(|data| {
            environ::parse(data)
                .map(|(k, v)| {
                    (
                        String::from_utf8_lossy(k).into_owned(),
                        String::from_utf8_lossy(v).into_owned(),
                    )
                })
                .collect()
        })
    }

    /// Backs [`crate::Process::environ_os`], where it is documented with every OS's source.
    pub fn environ_os(&self) -> Result<BTreeMap<OsString, OsString>> {
        self.with_environ(|data| {
            environ::parse(data)
                .map(|(k, v)| {
                    (
                        std::ffi::OsStr::from_bytes(k).to_owned(),
                        std::ffi::OsStr::from_bytes(v).to_owned(),
                    )
                })
                .collect()
        })
    }

    fn with_environ<T: Default>(&self, parse: impl FnOnce(&[u8]) -> T) -> Result<T> {
        let read = procfs::with_buffer(|buf| self.read_into("environ", buf).map(|()| parse(buf)));
        match read {
            Ok(value) => Ok(value),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ESRCH | libc::ENOENT)) => {
                // Kernel threads have no user memory: the kernel answers ESRCH while they live.
                if self.is_kernel_thread() {
                    Ok(T::default())
                } else {
                    Err(self.error_for("environ", e))
                }
            }
            Err(e) => Err(self.error_for("environ", e)),
        }
    }

    /// Whether this handle's process is alive and a kernel thread (`PF_KTHREAD`).
    pub(crate) fn is_kernel_thread(&self) -> bool {
        procfs::with_buffer(|buf| {
            self.read_into("stat", buf).is_ok()
                && pid_stat::parse(buf).is_ok_and(|s| s.flags & PF_KTHREAD != 0 && s.state != b'Z')
        })
    }
}
