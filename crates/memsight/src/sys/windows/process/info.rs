//! Who and what a process is on Windows: executable and name, times, parent and children,
//! state, threads, handles, I/O counters and owner.

// One module split by topic: the imports and helpers are the parent's.
use super::*;

impl Process {
    /// Backs [`crate::Process::exe`], where it is documented with every OS's source.
    pub fn exe(&self) -> Result<PathBuf> {
        self.alive()?;
        if self.pid == 4 {
            return Ok(PathBuf::new());
        }
        let mut buf = vec![0u16; 32 * 1024];
        let mut len = buf.len() as u32;
        // SAFETY: `buf` holds `len` UTF-16 units; `len` is updated to the length written.
        let ok = unsafe {
            QueryFullProcessImageNameW(
                raw(&self.handle),
                PROCESS_NAME_WIN32,
                buf.as_mut_ptr(),
                &mut len,
            )
        };
        if ok == 0 {
            return Err(last_win_error(Some(self.pid), "QueryFullProcessImageNameW"));
        }
        Ok(PathBuf::from(String::from_utf16_lossy(
            &buf[..(len as usize).min(buf.len())],
        )))
    }

    /// Backs [`crate::Process::name`], where it is documented with every OS's source.
    pub fn name(&self) -> Result<String> {
        match self.pid {
            4 => Ok("System".to_string()),
            _ => {
                let exe = self.exe()?;
                Ok(basename(&exe.to_string_lossy()).to_string())
            }
        }
    }

    /// Backs [`crate::Process::create_time`], where it is documented with every OS's source.
    pub fn create_time(&self) -> Result<f64> {
        Ok(filetime_to_unix(self.created))
    }

    /// Backs [`crate::Process::ppid`], where it is documented with every OS's source.
    pub fn ppid(&self) -> Result<u32> {
        Ok(self.snapshot_entry()?.ppid)
    }

    /// Backs [`crate::Process::parent`], where it is documented with every OS's source.
    pub fn parent(&self) -> Result<Option<Process>> {
        let ppid = self.ppid()?;
        match Process::new(ppid) {
            Ok(parent) if parent.created <= self.created => Ok(Some(parent)),
            Ok(_) | Err(Error::NoSuchProcess { .. }) | Err(Error::AccessDenied { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Backs [`crate::Process::children`], where it is documented with every OS's source.
    pub fn children(&self, recursive: bool) -> Result<Vec<Process>> {
        self.alive()?;
        let snap = snapshot()?;
        let link = |k: &SnapshotProcess| (k.pid, k.ppid, k.create_time);
        Ok(
            crate::neutral::family::descendants(&snap, link, self.pid, self.created, recursive)
                .into_iter()
                .filter_map(|k| Process::new(k.pid).ok())
                .collect(),
        )
    }

    /// Backs [`crate::Process::status`], where it is documented with every OS's source.
    pub fn status(&self) -> Result<ProcessStatus> {
        Ok(status_from_threads(&self.snapshot_entry()?.threads))
    }

    /// Backs [`crate::Process::num_threads`], where it is documented with every OS's source.
    pub fn num_threads(&self) -> Result<u64> {
        Ok(u64::from(self.snapshot_entry()?.num_threads))
    }

    /// Backs [`crate::Process::threads`], where it is documented with every OS's source.
    pub fn threads(&self) -> Result<Vec<Thread>> {
        let mut threads = self.snapshot_entry()?.thread_times;
        threads.sort_by_key(|t| t.id);
        Ok(threads)
    }

    /// Backs [`crate::Process::num_handles`], where it is documented with every OS's source.
    pub fn num_handles(&self) -> Result<u64> {
        self.alive()?;
        let mut n = 0u32;
        // SAFETY: one u32 out-parameter; the handle is open.
        if unsafe { GetProcessHandleCount(raw(&self.handle), &mut n) } == 0 {
            return Err(last_win_error(Some(self.pid), "GetProcessHandleCount"));
        }
        Ok(u64::from(n))
    }

    /// Backs [`crate::Process::cpu_times`], where it is documented with every OS's source.
    pub fn cpu_times(&self) -> Result<CpuTimes> {
        self.alive()?;
        let (_, kernel, user) = process_times(self.pid, &self.handle)?;
        Ok(CpuTimes {
            user: filetime_secs(user),
            system: filetime_secs(kernel),
            children_user: 0.0,
            children_system: 0.0,
        })
    }

    /// Backs [`crate::Process::io_counters`], where it is documented with every OS's source.
    pub fn io_counters(&self) -> Result<IoCounters> {
        self.alive()?;
        // SAFETY: plain-data out-parameter; the handle is open.
        let (ok, c) = unsafe {
            let mut c: IO_COUNTERS = std::mem::zeroed();
            (GetProcessIoCounters(raw(&self.handle), &mut c), c)
        };
        if ok == 0 {
            return Err(last_win_error(Some(self.pid), "GetProcessIoCounters"));
        }
        Ok(IoCounters {
            read_count: c.ReadOperationCount,
            write_count: c.WriteOperationCount,
            read_bytes: c.ReadTransferCount,
            write_bytes: c.WriteTransferCount,
            other_count: c.OtherOperationCount,
            other_bytes: c.OtherTransferCount,
        })
    }

    /// Backs [`crate::Process::username`], where it is documented with every OS's source.
    pub fn username(&self) -> Result<String> {
        if self.pid == 4 {
            return Ok("NT AUTHORITY\\SYSTEM".to_string());
        }
        self.alive()?;
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: the handle is open; `token` receives a new handle we own.
        if unsafe { OpenProcessToken(raw(&self.handle), TOKEN_QUERY, &mut token) } == 0 {
            return Err(last_win_error(Some(self.pid), "OpenProcessToken"));
        }
        // SAFETY: `token` is a fresh handle we own.
        let token = unsafe { OwnedHandle::from_raw_handle(token) };
        let mut need = 0u32;
        // SAFETY: a size query with no buffer.
        unsafe { GetTokenInformation(raw(&token), TokenUser, std::ptr::null_mut(), 0, &mut need) };
        let mut buf: Vec<usize> = vec![0; (need as usize).div_ceil(8).max(8)];
        // SAFETY: `buf` has `buf.len() * 8` bytes, pointer-aligned for TOKEN_USER.
        let ok = unsafe {
            GetTokenInformation(
                raw(&token),
                TokenUser,
                buf.as_mut_ptr().cast(),
                (buf.len() * 8) as u32,
                &mut need,
            )
        };
        if ok == 0 {
            return Err(last_win_error(Some(self.pid), "GetTokenInformation"));
        }
        // SAFETY: the call filled `buf` with a TOKEN_USER whose SID points inside `buf`.
        let sid = unsafe { (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid };
        let (mut name, mut domain) = (vec![0u16; 256], vec![0u16; 256]);
        loop {
            let (mut n, mut d) = (name.len() as u32, domain.len() as u32);
            let mut kind: SID_NAME_USE = 0;
            // SAFETY: both buffers hold the lengths passed; `sid` lives in `buf`.
            let ok = unsafe {
                LookupAccountSidW(
                    std::ptr::null(),
                    sid,
                    name.as_mut_ptr(),
                    &mut n,
                    domain.as_mut_ptr(),
                    &mut d,
                    &mut kind,
                )
            };
            if ok != 0 {
                let name = String::from_utf16_lossy(&name[..(n as usize).min(name.len())]);
                let domain = String::from_utf16_lossy(&domain[..(d as usize).min(domain.len())]);
                return Ok(format!("{domain}\\{name}"));
            }
            let code = last_error();
            if code != ERROR_INSUFFICIENT_BUFFER || name.len() > 1 << 15 {
                // ERROR_NONE_MAPPED (1332): psutil reports AccessDenied.
                return Err(match code {
                    1332 => Error::call_denied(Some(self.pid), "LookupAccountSidW"),
                    code => win_error(Some(self.pid), "LookupAccountSidW", code),
                });
            }
            name.resize((n as usize).max(name.len() * 2), 0);
            domain.resize((d as usize).max(domain.len() * 2), 0);
        }
    }
}
