//! What Windows keeps only in the process's own memory: the command line, working directory
//! and environment, read from its PEB (`NtQueryInformationProcess`, `ReadProcessMemory`).

// One module split by topic: the imports and helpers are the parent's.
use super::*;

/// Reads `len` bytes at `addr` of the process behind `h` (`ReadProcessMemory`).
fn read_memory(pid: u32, h: &OwnedHandle, addr: usize, len: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; len];
    let mut done = 0usize;
    // SAFETY: `out` has `len` writable bytes; the remote address is only read by the kernel.
    let ok = unsafe {
        ReadProcessMemory(
            raw(h),
            addr as *const c_void,
            out.as_mut_ptr().cast(),
            len,
            &mut done,
        )
    };
    if ok == 0 {
        let code = last_error();
        return Err(match code {
            // psutil retries a partial copy and then reports AccessDenied.
            ERROR_PARTIAL_COPY | 998 => Error::call_denied(Some(pid), "ReadProcessMemory"),
            code => win_error(Some(pid), "ReadProcessMemory", code),
        });
    }
    out.truncate(done);
    Ok(out)
}

fn usize_at(buf: &[u8], at: usize) -> Option<usize> {
    Some(usize::from_le_bytes(buf.get(at..at + 8)?.try_into().ok()?))
}

/// x64 offsets: `PEB.ProcessParameters`, and in `RTL_USER_PROCESS_PARAMETERS` the
/// `CurrentDirectory.DosPath`, `CommandLine` `UNICODE_STRING`s and the `Environment` pointer.
const PEB_PROCESS_PARAMETERS: usize = 0x20;
const PARAMS_CURRENT_DIRECTORY: usize = 0x38;
const PARAMS_COMMAND_LINE: usize = 0x70;
const PARAMS_ENVIRONMENT: usize = 0x80;
const PARAMS_LEN: usize = 0x88;

impl Process {
    /// Reads the `RTL_USER_PROCESS_PARAMETERS` block of the target's PEB, with a handle able to
    /// read its memory.
    fn process_parameters(&self) -> Result<(OwnedHandle, Vec<u8>)> {
        let h = self.reopen(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ)?;
        // SAFETY: PROCESS_BASIC_INFORMATION is plain data written by the call with its size.
        let (status, pbi) = unsafe {
            let mut pbi: PROCESS_BASIC_INFORMATION = std::mem::zeroed();
            let status = NtQueryInformationProcess(
                raw(&h),
                ProcessBasicInformation,
                (&raw mut pbi).cast(),
                cb::<PROCESS_BASIC_INFORMATION>(),
                std::ptr::null_mut(),
            );
            (status, pbi)
        };
        if status < 0 {
            return Err(Error::call_denied(
                Some(self.pid),
                "NtQueryInformationProcess",
            ));
        }
        let peb = read_memory(
            self.pid,
            &h,
            pbi.PebBaseAddress as usize + PEB_PROCESS_PARAMETERS,
            8,
        )?;
        let params_addr = usize_at(&peb, 0).ok_or_else(|| self.short_read())?;
        let params = read_memory(self.pid, &h, params_addr, PARAMS_LEN)?;
        Ok((h, params))
    }

    fn short_read(&self) -> Error {
        Error::call_denied(Some(self.pid), "ReadProcessMemory")
    }

    /// Reads the `UNICODE_STRING` at `at` of the parameter block.
    fn unicode_string(&self, h: &OwnedHandle, params: &[u8], at: usize) -> Result<String> {
        let len = params
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
            .ok_or_else(|| self.short_read())?;
        let ptr = usize_at(params, at + 8).ok_or_else(|| self.short_read())?;
        if len == 0 || ptr == 0 {
            return Ok(String::new());
        }
        let bytes = read_memory(self.pid, h, ptr, len)?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok(String::from_utf16_lossy(&units))
    }

    /// Backs [`crate::Process::cmdline`], where it is documented with every OS's source.
    pub fn cmdline(&self) -> Result<Vec<String>> {
        if self.pid == 4 {
            return Ok(Vec::new());
        }
        let (h, params) = self.process_parameters()?;
        let line = self.unicode_string(&h, &params, PARAMS_COMMAND_LINE)?;
        Ok(split_command_line(&line))
    }

    /// Backs [`crate::Process::cwd`], where it is documented with every OS's source.
    pub fn cwd(&self) -> Result<PathBuf> {
        if self.pid == 4 {
            return Err(Error::call_denied(Some(4), "cwd"));
        }
        let (h, params) = self.process_parameters()?;
        let mut dir = self.unicode_string(&h, &params, PARAMS_CURRENT_DIRECTORY)?;
        if dir.len() > 3 && dir.ends_with('\\') {
            dir.pop();
        }
        Ok(PathBuf::from(dir))
    }

    /// Backs [`crate::Process::environ`], where it is documented with every OS's source.
    pub fn environ(&self) -> Result<BTreeMap<String, String>> {
        if self.pid == 4 {
            return Ok(BTreeMap::new());
        }
        let (h, params) = self.process_parameters()?;
        let env = usize_at(&params, PARAMS_ENVIRONMENT).ok_or_else(|| self.short_read())?;
        if env == 0 {
            return Ok(BTreeMap::new());
        }
        // SAFETY: VirtualQueryEx writes at most the struct's size into the zeroed local.
        let (n, mbi) = unsafe {
            let mut mbi: MEMORY_BASIC_INFORMATION = std::mem::zeroed();
            let n = VirtualQueryEx(
                raw(&h),
                env as *const c_void,
                &mut mbi,
                std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
            );
            (n, mbi)
        };
        if n == 0 {
            return Err(last_win_error(Some(self.pid), "VirtualQueryEx"));
        }
        let end = (mbi.BaseAddress as usize).saturating_add(mbi.RegionSize);
        let len = end.saturating_sub(env).min(MAX_BUFFER);
        let bytes = read_memory(self.pid, &h, env, len)?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok(parse_environ_block(&units))
    }
}
