//! Memory of a process on Windows: the `GetProcessMemoryInfo` counters, the working set
//! (`QueryWorkingSet`, `QueryWorkingSetEx`) for USS and resident bytes, the snapshot's virtual
//! sizes, and the mapped regions (`VirtualQueryEx`, `GetMappedFileNameW`).

// One module split by topic: the imports and helpers are the parent's.
use super::*;

/// psutil's `pmem` on Windows from `GetProcessMemoryInfo`'s counters.
fn memory_info_of(c: &PROCESS_MEMORY_COUNTERS_EX) -> MemoryInfo {
    MemoryInfo {
        rss: c.WorkingSetSize as u64,
        vms: c.PrivateUsage as u64,
        peak_rss: c.PeakWorkingSetSize as u64,
        peak_vms: c.PeakPagefileUsage as u64,
    }
}

/// Pages asked of `QueryWorkingSetEx` per call: a 64 KiB buffer whatever the region's size.
const WS_EX_BATCH: usize = 4096;

/// `QueryWorkingSetEx` on `batch`, (VirtualAddress, VirtualAttributes) pairs in
/// `PSAPI_WORKING_SET_EX_INFORMATION`'s layout, the addresses set by the caller: fills in the
/// attributes, or gives the Win32 error code.
fn query_working_set_ex(target: HANDLE, batch: &mut [[usize; 2]]) -> std::result::Result<(), u32> {
    let bytes = std::mem::size_of_val(batch) as u32;
    // SAFETY: `batch` holds `bytes` writable bytes of (address, attributes) pairs, the struct's
    // layout (two pointer-sized fields) and alignment.
    if unsafe { K32QueryWorkingSetEx(target, batch.as_mut_ptr().cast(), bytes) } == 0 {
        return Err(last_error());
    }
    Ok(())
}

/// The bytes of `[base, base + size)` in the working set of the process behind `target`
/// (`QueryWorkingSetEx` over its pages, [`WS_EX_BATCH`] at a time, reusing `batch`), or the
/// Win32 error code of the first call that fails.
fn region_resident(
    target: HANDLE,
    base: usize,
    size: usize,
    batch: &mut Vec<[usize; 2]>,
) -> std::result::Result<u64, u32> {
    let page = crate::sys::windows::system::page_size().max(1) as usize;
    let pages = size / page;
    let mut resident = 0u64;
    let mut first = 0usize;
    while first < pages {
        let n = (pages - first).min(WS_EX_BATCH);
        batch.clear();
        batch.extend((first..first + n).map(|i| [base.wrapping_add(i * page), 0]));
        query_working_set_ex(target, batch)?;
        resident = resident.saturating_add(working_set_ex_resident(
            batch.iter().map(|e| e[1]),
            page as u64,
        ));
        first += n;
    }
    Ok(resident)
}

/// The `QueryWorkingSetEx` attributes of every committed page of the process behind `target`
/// (regions from `VirtualQueryEx`, pages asked in batches of 4096).
fn resident_attributes(target: HANDLE) -> Result<Vec<usize>> {
    const MEM_COMMIT: u32 = 0x1000;
    let page = crate::sys::windows::system::page_size().max(1) as usize;
    let mut out = Vec::new();
    // (VirtualAddress, VirtualAttributes): PSAPI_WORKING_SET_EX_INFORMATION's layout.
    let mut batch: Vec<[usize; 2]> = Vec::with_capacity(WS_EX_BATCH);
    let flush = |batch: &mut Vec<[usize; 2]>, out: &mut Vec<usize>| -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        if let Err(code) = query_working_set_ex(target, batch) {
            return Err(match code {
                // Neither working-set call takes this process (Wine answers so for every process
                // but the caller): psutil's NotImplementedError, not a vanished pid.
                ERROR_INVALID_PARAMETER => Error::Unsupported(
                    "the working set of another process (QueryWorkingSet and QueryWorkingSetEx \
                     refuse it; Wine has them for the calling process only)"
                        .to_string(),
                ),
                code => win_error(None, "QueryWorkingSetEx", code),
            });
        }
        out.extend(batch.iter().map(|e| e[1]));
        batch.clear();
        Ok(())
    };
    // Ask one page first, so a process the call refuses is refused before any `VirtualQueryEx`:
    // Wine answers that call for another process by having the target run it, and waits for good
    // on a process that is being created or torn down meanwhile (a whole-system scan under Wine
    // hung so within a few dozen scans while children started and ended), while it refuses the
    // working-set query at once.
    batch.push([0, 0]);
    flush(&mut batch, &mut Vec::new())?;
    let mut addr = 0usize;
    loop {
        // SAFETY: VirtualQueryEx writes at most the struct's size into the zeroed local.
        let (n, mbi) = unsafe {
            let mut mbi: MEMORY_BASIC_INFORMATION = std::mem::zeroed();
            let n = VirtualQueryEx(
                target,
                addr as *const c_void,
                &mut mbi,
                std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
            );
            (n, mbi)
        };
        if n == 0 {
            break;
        }
        let base = mbi.BaseAddress as usize;
        if mbi.State == MEM_COMMIT {
            for i in 0..mbi.RegionSize / page {
                batch.push([base + i * page, 0]);
                if batch.len() == WS_EX_BATCH {
                    flush(&mut batch, &mut out)?;
                }
            }
        }
        match base.checked_add(mbi.RegionSize) {
            Some(next) if next > addr => addr = next,
            _ => break,
        }
    }
    flush(&mut batch, &mut out)?;
    Ok(out)
}

impl Process {
    /// `GetProcessMemoryInfo`'s counters. `PrivateUsage` and `PagefileUsage` are the same
    /// figure (the commit charge); Wine fills only the latter, so a 0 `PrivateUsage` takes it.
    fn counters(&self) -> Result<PROCESS_MEMORY_COUNTERS_EX> {
        self.alive()?;
        // SAFETY: plain-data struct written by the call with its size passed.
        let (ok, c) = unsafe {
            let mut c: PROCESS_MEMORY_COUNTERS_EX = std::mem::zeroed();
            let ok = K32GetProcessMemoryInfo(
                raw(&self.handle),
                (&raw mut c).cast::<PROCESS_MEMORY_COUNTERS>(),
                cb::<PROCESS_MEMORY_COUNTERS_EX>(),
            );
            (ok, c)
        };
        if ok == 0 {
            return Err(last_win_error(Some(self.pid), "GetProcessMemoryInfo"));
        }
        let mut c = c;
        if c.PrivateUsage == 0 {
            c.PrivateUsage = c.PagefileUsage;
        }
        Ok(c)
    }

    /// Backs [`crate::Process::memory_info`], where it is documented with every OS's source.
    pub fn memory_info(&self) -> Result<MemoryInfo> {
        Ok(memory_info_of(&self.counters()?))
    }

    /// Backs [`crate::Process::memory_info_ex`], where it is documented with every OS's source.
    pub fn memory_info_ex(&self) -> Result<MemoryInfoEx> {
        let c = self.counters()?;
        let snap = self.snapshot_entry()?;
        Ok(MemoryInfoEx {
            memory: memory_info_of(&c),
            r#virtual: snap.virtual_size,
            peak_virtual: snap.peak_virtual_size,
            paged_pool: c.QuotaPagedPoolUsage as u64,
            nonpaged_pool: c.QuotaNonPagedPoolUsage as u64,
            peak_paged_pool: c.QuotaPeakPagedPoolUsage as u64,
            peak_nonpaged_pool: c.QuotaPeakNonPagedPoolUsage as u64,
        })
    }

    /// Backs [`crate::Process::memory_footprint`], where it is documented with every OS's source.
    pub fn memory_footprint(&self) -> Result<MemoryFootprint> {
        // The calling process is walked through its pseudo-handle (Wine walks only that one).
        let own = self.pid == std::process::id();
        let reopened = if own {
            self.alive()?;
            None
        } else {
            Some(self.reopen(PROCESS_QUERY_INFORMATION)?)
        };
        // SAFETY: GetCurrentProcess returns a constant pseudo-handle that needs no closing.
        let target = reopened
            .as_ref()
            .map_or_else(|| unsafe { GetCurrentProcess() }, raw);
        let mut buf: Vec<usize> = vec![0; 0x8000 / 8];
        loop {
            let bytes = buf.len() * 8;
            // SAFETY: `buf` has `bytes` writable bytes, usize-aligned as the struct needs.
            let ok = unsafe { K32QueryWorkingSet(target, buf.as_mut_ptr().cast(), bytes as u32) };
            let entries = buf.first().copied().unwrap_or(0);
            if ok != 0 {
                let n = entries.min(buf.len() - 1);
                let uss = working_set_uss(&buf[1..=n], crate::sys::windows::system::page_size());
                return Ok(MemoryFootprint { uss });
            }
            let code = last_error();
            if code == ERROR_INVALID_PARAMETER {
                // No working-set list (Wine): ask page by page instead.
                let uss = working_set_ex_uss(
                    &resident_attributes(target)?,
                    crate::sys::windows::system::page_size(),
                );
                return Ok(MemoryFootprint { uss });
            }
            if code != 24 /* ERROR_BAD_LENGTH */ && code != ERROR_INSUFFICIENT_BUFFER {
                // Not `Some(pid)`: an invalid-parameter answer here is not a vanished process.
                return Err(win_error(None, "QueryWorkingSet", code));
            }
            let want = (entries + 1 + 4096).max(buf.len() * 2);
            if want * 8 > MAX_BUFFER {
                return Err(Error::Unsupported("working set above 256 MiB".to_string()));
            }
            buf.resize(want, 0);
        }
    }

    /// Backs [`crate::Process::memory_full_info`], where it is documented with every OS's source.
    pub fn memory_full_info(&self) -> Result<MemoryFullInfo> {
        let m = self.memory_info()?;
        let f = self.memory_footprint()?;
        Ok(MemoryFullInfo {
            memory: m,
            uss: f.uss,
        })
    }

    /// The [`MemType`] field of `memory_info`, `memory_info_ex` or `memory_footprint` (only the
    /// record named is read), for the neutral `memory_percent`.
    pub(crate) fn memory_value(&self, memtype: MemType) -> Result<u64> {
        Ok(match memtype {
            MemType::Uss => self.memory_footprint()?.uss,
            MemType::Rss | MemType::Vms | MemType::PeakRss | MemType::PeakVms => {
                let m = self.memory_info()?;
                match memtype {
                    MemType::Rss => m.rss,
                    MemType::Vms => m.vms,
                    MemType::PeakRss => m.peak_rss,
                    _ => m.peak_vms,
                }
            }
            _ => {
                let m = self.memory_info_ex()?;
                match memtype {
                    MemType::Virtual => m.r#virtual,
                    MemType::PeakVirtual => m.peak_virtual,
                    MemType::PagedPool => m.paged_pool,
                    MemType::NonpagedPool => m.nonpaged_pool,
                    MemType::PeakPagedPool => m.peak_paged_pool,
                    _ => m.peak_nonpaged_pool,
                }
            }
        })
    }

    /// Total RAM for `memory_percent`: `virtual_memory().total`.
    pub(crate) fn total_ram(&self) -> Result<u64> {
        Ok(crate::sys::windows::system::virtual_memory()?.total)
    }

    /// Backs [`crate::Process::memory_maps`], where it is documented with every OS's source.
    pub fn memory_maps(&self, grouped: bool) -> Result<Vec<MemoryMap>> {
        // The calling process is asked through its pseudo-handle (Wine answers QueryWorkingSetEx
        // only for that one).
        let own = self.pid == std::process::id();
        let reopened = if own {
            self.alive()?;
            None
        } else {
            Some(self.reopen(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ)?)
        };
        // SAFETY: GetCurrentProcess returns a constant pseudo-handle that needs no closing.
        let target = reopened
            .as_ref()
            .map_or_else(|| unsafe { GetCurrentProcess() }, raw);
        let mut maps = Vec::new();
        let mut addr = 0usize;
        let mut name = vec![0u16; 0x8000];
        // Resident bytes region by region with QueryWorkingSetEx, not one QueryWorkingSet of the
        // whole process sorted and counted per region: that list is every resident page (up to
        // hundreds of MiB of entries for a big process) while the file-mapped regions are
        // usually a small part of it, and Wine has no QueryWorkingSet at all. This asks only the
        // mapped regions' pages, with one 64 KiB buffer reused ([`WS_EX_BATCH`] pages a call).
        let mut batch: Vec<[usize; 2]> = Vec::with_capacity(WS_EX_BATCH);
        let mut working_set_ex = true;
        loop {
            // SAFETY: VirtualQueryEx writes at most the struct's size into the zeroed local.
            let (n, mbi) = unsafe {
                let mut mbi: MEMORY_BASIC_INFORMATION = std::mem::zeroed();
                let n = VirtualQueryEx(
                    target,
                    addr as *const c_void,
                    &mut mbi,
                    std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
                );
                (n, mbi)
            };
            if n == 0 {
                break;
            }
            let base = mbi.BaseAddress as usize;
            // SAFETY: `name` has room for its length in UTF-16 units.
            let len = unsafe {
                K32GetMappedFileNameW(
                    target,
                    base as *const c_void,
                    name.as_mut_ptr(),
                    name.len() as u32,
                )
            } as usize;
            if len > 0 {
                let mut rss = mbi.RegionSize as u64;
                if working_set_ex {
                    match region_resident(target, base, mbi.RegionSize, &mut batch) {
                        Ok(resident) => rss = resident,
                        // Refused for this process (Wine: any but the caller): region sizes.
                        Err(ERROR_INVALID_PARAMETER) => working_set_ex = false,
                        Err(code) => {
                            return Err(win_error(Some(self.pid), "QueryWorkingSetEx", code));
                        }
                    }
                }
                maps.push(MemoryMap {
                    addr: format!("{base:#x}"),
                    perms: prot(mbi.Protect).to_string(),
                    path: String::from_utf16_lossy(&name[..len.min(name.len())]),
                    rss,
                });
            }
            match base.checked_add(mbi.RegionSize) {
                Some(next) if next > addr => addr = next,
                _ => break,
            }
        }
        Ok(if grouped { group_maps(maps) } else { maps })
    }
}
