//! The one public [`Process`]: a handle over the backend's process type, each method documented
//! once with where its figure comes from on each OS (psutil's one `Process` over `_psplatform`).
//!
//! Methods only some systems have are `cfg`'d here, on the same type, so code written for Linux
//! reads the same on every OS where the method exists; the doc of each says which.

#[cfg(target_os = "linux")]
use std::ffi::OsString;
use std::{collections::BTreeMap, path::PathBuf};

#[cfg(any(target_os = "linux", windows, target_os = "freebsd"))]
use super::IoCounters;
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
use super::OpenFile;
#[cfg(any(target_os = "linux", windows))]
use super::Thread;
#[cfg(target_os = "linux")]
use super::{Connection, ConnectionKind, CtxSwitches, PageFaults, Resource, Rlimit};
use super::{CpuTimes, MemoryFootprint, MemoryFullInfo, MemoryInfo, MemoryInfoEx, MemoryMap};
#[cfg(unix)]
use super::{Gids, Uids};
#[allow(unused_imports)] // the links of the docs below
use crate::Error;
use crate::Result;
#[cfg(target_os = "linux")]
use crate::linux::{IoNice, ProcFs};
use crate::neutral::{MemType, Os, ProcessStatus, percent_of_ram};
use crate::sys::process::Process as Inner;

/// A handle on one process.
///
/// A `Process` is a pid plus the identity the OS gave it (on Linux the start time and an `O_PATH`
/// descriptor of `/proc/PID`; on Windows an open process handle; on macOS and FreeBSD the start
/// time), so once the process has exited, every read fails with [`Error::NoSuchProcess`] even if
/// the pid has been handed to a new process: the handle never silently reads someone else.
///
/// Equality is identity: two handles are equal when they name the same process (same pid and
/// start time; on Linux also the same `/proc/PID` inode). `Clone` on macOS and FreeBSD only,
/// whose handle is a pid and a start time; Linux's and Windows' own a descriptor or a handle.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(any(target_os = "macos", target_os = "freebsd"), derive(Clone))]
pub struct Process {
    pub(crate) inner: Inner,
}

/// Every process, as a [`Process`] handle, in pid order. Pids that exit between the listing and
/// the opening are skipped (never reported); other errors (an unreadable process list) are
/// yielded.
///
/// | OS | The list |
/// | --- | --- |
/// | Linux | the numeric entries of `/proc` |
/// | Windows | `EnumProcesses` |
/// | macOS | `sysctl(KERN_PROC_ALL)` |
/// | FreeBSD | `sysctl(kern.proc.proc)` |
///
/// ```
/// let me = std::process::id();
/// let found = memsight::process_iter().filter_map(Result::ok).any(|p| p.pid() == me);
/// assert!(found);
/// ```
pub fn process_iter() -> impl Iterator<Item = Result<Process>> {
    crate::sys::process::process_iter().map(|p| p.map(Process::from_inner))
}

/// The ids of every process, in ascending order (the list [`process_iter`] walks; on Linux
/// threads are not listed, only thread-group leaders).
pub fn pids() -> Result<Vec<u32>> {
    crate::sys::process::pids()
}

impl Process {
    /// Wraps a backend handle.
    pub(crate) fn from_inner(inner: Inner) -> Process {
        Process { inner }
    }

    /// `value / total RAM × 100`, unrounded (psutil's `memory_percent(memtype)`): value is the
    /// [`MemType`] field of [`memory_info`](Self::memory_info),
    /// [`memory_info_ex`](Self::memory_info_ex) or [`memory_footprint`](Self::memory_footprint)
    /// (only the record named is read). A name this OS does not have is
    /// [`Error::Unsupported`], as is a total RAM of 0.
    ///
    /// | OS | Total RAM |
    /// | --- | --- |
    /// | Linux | [`virtual_memory`](crate::virtual_memory)`().total` under the handle's procfs root |
    /// | Windows | [`virtual_memory`](crate::virtual_memory)`().total` (`GlobalMemoryStatusEx`) |
    /// | macOS | `hw.memsize` |
    /// | FreeBSD | [`virtual_memory`](crate::virtual_memory)`().total` |
    pub fn memory_percent(&self, memtype: MemType) -> Result<f64> {
        memtype.check_on(Os::HERE)?;
        let value = self.inner.memory_value(memtype)?;
        percent_of_ram(value, self.inner.total_ram()?)
    }

    /// Opens process `pid`. Fails with [`Error::NoSuchProcess`] if there is none.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | Opens process `pid` under `/proc`. Fails with [`Error::NoSuchProcess`] if there is none. |
    /// | Windows | Opens process `pid` (`OpenProcess` with `PROCESS_QUERY_LIMITED_INFORMATION \| SYNCHRONIZE`) and reads its creation time. Fails with [`Error::NoSuchProcess`] if there is none, and with [`Error::AccessDenied`] for pid 0 and protected processes. |
    /// | macOS | Process `pid` (its `kinfo_proc` start time). Fails with [`Error::NoSuchProcess`] if there is none. A zombie can be opened, as in psutil. |
    /// | FreeBSD | Process `pid`, identified by its start time (`ki_start` of its `kinfo_proc`). Fails with [`Error::NoSuchProcess`] if there is none. |
    pub fn new(pid: u32) -> Result<Process> {
        Inner::new(pid).map(Process::from_inner)
    }

    /// The calling process.
    pub fn current() -> Result<Process> {
        Process::new(std::process::id())
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.inner.pid()
    }

    /// Runs `f` with this process, letting several getters called inside it share what they read
    /// (psutil's `oneshot()`). Nested calls share the outer scope.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | Runs `f` with a per-file cache switched on, so that several getters called inside it read each `/proc/PID` file once (psutil's `oneshot()`). Nested calls share the outer cache. |
    /// | Windows | Runs `f` with this process (API parity with Linux: Windows getters share no files, so there is nothing to cache). |
    /// | macOS | Runs `f` with this process (API parity with Linux: there is nothing to cache). |
    /// | FreeBSD | Runs `f` with this process (API parity with Linux: each getter reads one sysctl, so there is nothing to cache). |
    ///
    /// On Linux:
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// let me = memsight::Process::current()?;
    /// let (rss, vms) = me.oneshot(|p| -> memsight::Result<_> {
    ///     let m = p.memory_info()?; // statm read once for both
    ///     Ok((m.rss, p.memory_info()?.vms))
    /// })?;
    /// assert!(rss > 0 && vms >= rss);
    /// # }
    /// # Ok::<(), memsight::Error>(())
    /// ```
    pub fn oneshot<T>(&self, f: impl FnOnce(&Process) -> T) -> T {
        #[cfg(target_os = "linux")]
        return self.inner.oneshot(|_| f(self));
        #[cfg(not(target_os = "linux"))]
        f(self)
    }

    /// Whether this process is still running (a zombie counts as running, as in psutil); a pid
    /// since reused by another process answers `false`.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | Whether this process is still running: the handle's own `/proc/PID` descriptor still reads, and the pid belongs to a process with the same start time (so a reused pid answers `false`, even when the new process started in the same clock tick). A zombie counts as running, as in psutil. |
    /// | Windows | Whether this process is still running: its handle is not signalled (`WaitForSingleObject(h, 0)` times out). The handle pins the process, so a reused pid can never answer for it. |
    /// | macOS | Whether the pid still belongs to this process (same start time); a zombie still does. |
    /// | FreeBSD | Whether this process still exists (a zombie does): its pid's `kinfo_proc` has the same start time. |
    pub fn is_running(&self) -> bool {
        self.inner.is_running()
    }

    /// The process name, as psutil gives it on each OS.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The process name, as psutil gives it: the kernel's command name (`/proc/PID/comm`, the `task->comm` that psutil reads from `stat`'s field 2, at most 15 bytes); when that is 15 characters or more and the base name of the first argument starts with it, that base name instead (`gnome-keyring-d` becomes `gnome-keyring-daemon`). Works for zombies and kernel threads. Lossy: bytes that are not UTF-8 become U+FFFD; [`name_os`](Self::name_os) gives the exact bytes. |
    /// | Windows | The process name: "System Idle Process" for pid 0, "System" for 4, else the base name of [`exe`](Self::exe). psutil's Windows `name()`. |
    /// | macOS | The process name: `p_comm` of `kinfo_proc` (at most 16 bytes); when that is 15 characters or more and the base name of the first argument starts with it, that base name instead (psutil's rule). Works for zombies. |
    /// | FreeBSD | The process name: the kernel's command name (`ki_comm`, at most 19 bytes); when that is 15 characters or more and the base name of the first argument starts with it, that base name (psutil's rule). Works for zombies. |
    pub fn name(&self) -> Result<String> {
        self.inner.name()
    }

    /// The executable's path.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The executable's path (`readlink /proc/PID/exe`), the exact bytes, with a ` (deleted)` suffix removed when the file is gone, as psutil does (decided without looking the path up: the held file's link count, from `statx(2)` on the `exe` magic link with `AT_STATX_DONT_SYNC`, says whether it was deleted). A kernel thread gives an empty path; a zombie gives [`Error::ZombieProcess`]. When the link may not be read (another user's process), the first argument is used if it is an absolute path to an executable file, as psutil guesses; otherwise [`Error::AccessDenied`]. |
    /// | Windows | The executable's full path (`QueryFullProcessImageNameW`, Win32 form). pid 4 (System) gives an empty path, as psutil does. |
    /// | macOS | The executable's path (`proc_pidpath`). pid 0 is [`Error::AccessDenied`]; a deleted executable gives an empty path (`ENOENT`, psutil #1738). |
    /// | FreeBSD | The executable's path (`kern.proc.pathname.PID`). Empty for pid 0 and when the kernel no longer knows it (`ENOENT`: a deleted binary, psutil #907). |
    pub fn exe(&self) -> Result<PathBuf> {
        self.inner.exe()
    }

    /// The command line, one string per argument (bytes that are not UTF-8 become U+FFFD).
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The command line (`/proc/PID/cmdline`), one string per argument. Arguments are split on NUL, or on spaces when the process rewrote its command line without NULs (setproctitle), as psutil does. A kernel thread gives an empty list; a zombie gives [`Error::ZombieProcess`]. Lossy: bytes that are not UTF-8 become U+FFFD; [`cmdline_os`](Self::cmdline_os) gives the exact bytes. |
    /// | Windows | The command line from the target's PEB (`RTL_USER_PROCESS_PARAMETERS.CommandLine`), split as `CommandLineToArgvW` does. pids 0 and 4 give an empty list, as in psutil. |
    /// | macOS | The command line (`KERN_PROCARGS2`), one string per argument (invalid UTF-8 replaced). pid 0 gives an empty list; another user's process [`Error::AccessDenied`](crate::Error::AccessDenied); a zombie [`Error::ZombieProcess`](crate::Error::ZombieProcess). |
    /// | FreeBSD | The command line (`kern.proc.args.PID`), one string per argument (invalid UTF-8 replaced by U+FFFD). A kernel process gives an empty list. |
    pub fn cmdline(&self) -> Result<Vec<String>> {
        self.inner.cmdline()
    }

    /// The working directory.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The working directory (`readlink /proc/PID/cwd`), the exact bytes; empty for a kernel thread, as in psutil. |
    /// | Windows | The working directory from the target's PEB (`CurrentDirectory.DosPath`), without the trailing `\` (psutil's `normpath`) except for a drive root. |
    /// | macOS | The working directory (`proc_pidinfo(PROC_PIDVNODEPATHINFO)`, `pvi_cdir`). |
    /// | FreeBSD | The working directory: the `KF_FD_TYPE_CWD` entry of the file table (`kern.proc.filedesc.PID`); empty when there is none (kernel processes), as in psutil. |
    pub fn cwd(&self) -> Result<PathBuf> {
        self.inner.cwd()
    }

    /// The environment, as psutil parses it on each OS.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The environment the process was started with (`/proc/PID/environ`: later `setenv` calls are not seen), keys and values decoded as UTF-8 with invalid sequences replaced by U+FFFD. Parsed with psutil's rules: entries after an empty one, an unterminated last entry and entries without a key are dropped; a repeated key keeps its last value. A live kernel thread gives an empty map (psutil raises NoSuchProcess there); a zombie gives [`ZombieProcess`](crate::Error::ZombieProcess); another user's process gives [`AccessDenied`](crate::Error::AccessDenied). |
    /// | Windows | The environment from the target's PEB (`RTL_USER_PROCESS_PARAMETERS.Environment`, read to the end of its memory region), keys upper-cased and `=C:` entries dropped as psutil's `parse_environ_block` does. pid 4 gives an empty map. |
    /// | macOS | The environment (`KERN_PROCARGS2`, after the arguments), psutil's POSIX parsing: keys keep their case, entries without `=` are skipped. Since macOS 11 another process's environment is mostly empty (SIP). pid 0 gives an empty map. |
    /// | FreeBSD | The environment (`kern.proc.env.PID`; psutil reads the same through `kvm_getenvv`), split at the first `=`. A zombie is [`Error::ZombieProcess`]; a kernel process (`P_SYSTEM`) has an empty one; another user's process is [`Error::AccessDenied`]. |
    pub fn environ(&self) -> Result<BTreeMap<String, String>> {
        self.inner.environ()
    }

    /// When the process started, in seconds since the Unix epoch.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | When the process started, in seconds since the Unix epoch: its start time after boot (`/proc/PID/stat` field 22, clock ticks) plus the boot time (`btime` of `/proc/stat`). |
    /// | Windows | When the process started, in seconds since the Unix epoch (`GetProcessTimes` creation). |
    /// | macOS | When the process started, in seconds since the Unix epoch (`p_starttime` of `kinfo_proc`), moved as psutil's `adjust_proc_create_time` does when the wall clock was set since memsight first read the boot time. |
    /// | FreeBSD | When the process started (`ki_start`), in seconds since the Unix epoch. |
    pub fn create_time(&self) -> Result<f64> {
        self.inner.create_time()
    }

    /// The process state, as psutil names it.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The scheduling state (`/proc/PID/stat` field 3), as psutil names it. |
    /// | Windows | [`ProcessStatus::Stopped`] when every thread is suspended, else running (snapshot thread states, psutil's rule). |
    /// | macOS | The state (psutil's `convert_status` over `kinfo_proc`); a zombie is [`ProcessStatus::Zombie`], not running. |
    /// | FreeBSD | What the process is doing (`ki_stat`); see [`ProcessStatus`]. |
    pub fn status(&self) -> Result<ProcessStatus> {
        self.inner.status()
    }

    /// The parent's pid. The parent may have exited and its pid been reused;
    /// [`parent`](Self::parent) checks.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The parent's pid (`/proc/PID/stat` field 4); 0 for pid 1 and kernel threads' parent kthreadd. |
    /// | Windows | The parent's pid (`InheritedFromUniqueProcessId` of the snapshot). The parent may have exited, and Windows may since have given its pid to another process. |
    /// | macOS | The parent's pid (`e_ppid` of `kinfo_proc`). |
    /// | FreeBSD | The parent's pid (`ki_ppid`). The parent may have exited and its pid been reused. |
    pub fn ppid(&self) -> Result<u32> {
        self.inner.ppid()
    }

    /// The parent process, or `None` when there is none, it has exited, or its pid now belongs to a
    /// process started after this one (psutil's check against pid reuse).
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The parent process, or `None` when there is none (pid 0), it has exited, or the pid in `/proc/PID/stat` field 4 now belongs to a process started after this one. |
    /// | Windows | The parent process, if it is still running and started before this one (psutil's check against a reused parent pid); `None` otherwise. |
    /// | macOS | The parent process, if it is still running and started before this one (psutil's check against a reused parent pid); `None` otherwise. |
    /// | FreeBSD | The parent process, if it still exists and started no later than this one (psutil's check against a reused parent pid); `None` otherwise. |
    pub fn parent(&self) -> Result<Option<Process>> {
        self.inner.parent().map(|p| p.map(Process::from_inner))
    }

    /// The children (with `recursive`, all descendants), in pid order: processes whose parent is
    /// this one and that started no earlier than it (psutil's check against pid reuse). Processes
    /// that exit during the scan are left out.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The children (with `recursive`, all descendants), sorted by pid: every process whose `/proc/PID/stat` names this one as parent and that started no earlier than it (psutil's check against pid reuse). Processes that exit during the scan are left out. |
    /// | Windows | The children (with `recursive`, all descendants) from one snapshot's parent links, kept only if they started after their parent (a reused parent pid is not a parent). |
    /// | macOS | The children (with `recursive`, all descendants) from one `KERN_PROC_ALL` snapshot's parent links, kept only if they started after their parent (a reused parent pid is not a parent), in pid order. |
    /// | FreeBSD | The children (with `recursive`, all descendants), in pid order, from one `kern.proc.proc` snapshot: processes whose `ki_ppid` is this pid and that started after it. |
    pub fn children(&self, recursive: bool) -> Result<Vec<Process>> {
        self.inner
            .children(recursive)
            .map(|kids| kids.into_iter().map(Process::from_inner).collect())
    }

    /// The name of the user the process runs as.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The login name of the real user id (`getpwuid_r(3)`), or the uid as decimal text when the user database has no entry for it, as psutil does. |
    /// | Windows | The owner as `DOMAIN\user` (`OpenProcessToken` → `GetTokenInformation(TokenUser)` → `LookupAccountSidW`); `NT AUTHORITY\SYSTEM` for pid 4. |
    /// | macOS | The login name of the real user id (`getpwuid_r(3)`), or the uid as decimal text when the user database has no entry for it, as psutil does. |
    /// | FreeBSD | The login name of the real user id (`getpwuid_r(3)`), or the uid as decimal text when the user database has no entry for it, as psutil does. |
    pub fn username(&self) -> Result<String> {
        self.inner.username()
    }

    /// The number of threads.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The number of threads (`/proc/PID/stat` field 20, the same as `Threads:` in status). |
    /// | Windows | Threads (`NumberOfThreads` of the snapshot). |
    /// | macOS | Threads (`pti_threadnum` of `PROC_PIDTASKINFO`). |
    /// | FreeBSD | Threads (`ki_numthreads`). |
    pub fn num_threads(&self) -> Result<u64> {
        self.inner.num_threads()
    }

    /// CPU time spent by the process, in seconds.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | User, system, children's and I/O-wait CPU time in seconds (`/proc/PID/stat`). |
    /// | Windows | User and kernel time (`GetProcessTimes`), seconds; children's times are 0. |
    /// | macOS | User and system time (`pti_total_user`, `pti_total_system` of `PROC_PIDTASKINFO`, Mach ticks ÷ `hw.tbfrequency`), seconds; children's times are 0. |
    /// | FreeBSD | User and system time, the process's and its reaped children's (`ki_rusage`, `ki_rusage_ch`), seconds. |
    pub fn cpu_times(&self) -> Result<CpuTimes> {
        self.inner.cpu_times()
    }

    /// The basic memory figures, in bytes (psutil's `memory_info()`); see [`MemoryInfo`] for each
    /// field's source.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | RSS, VMS and the other `statm` figures, in bytes. Readable for every user's processes; zombies and kernel threads give all zeros, as in psutil. |
    /// | Windows | Working set, private bytes and their peaks (`GetProcessMemoryInfo`); see [`MemoryInfo`]. |
    /// | macOS | Resident and virtual size (`proc_pidinfo(PROC_PIDTASKINFO)`); see [`MemoryInfo`]. |
    /// | FreeBSD | Resident, virtual, text, data and stack sizes and the peak RSS, from `kinfo_proc`; see [`MemoryInfo`]. |
    pub fn memory_info(&self) -> Result<MemoryInfo> {
        self.inner.memory_info()
    }

    /// [`memory_info`](Self::memory_info) plus the OS's further figures, in bytes: psutil 8's
    /// `memory_info_ex()`.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | [`memory_info`](Self::memory_info) plus peak RSS and VMS, the RSS split (anon, file, shmem), swap and hugetlb from `/proc/PID/status` (cached inside [`oneshot`](Self::oneshot)). Cheap (no page-table walk) and readable for every user's processes. |
    /// | Windows | [`memory_info`](Self::memory_info) plus the pools (`GetProcessMemoryInfo`) and the reserved address space (`VirtualSize`, `PeakVirtualSize` of a `SystemProcessInformation` snapshot, a whole-system query: costly). psutil 8's `memory_info_ex`. |
    /// | macOS | [`memory_info`](Self::memory_info) plus `task_info(TASK_VM_INFO)` (peak, anonymous, file-backed, compressed, footprint) and `proc_pid_rusage`'s wired size. psutil 8's `memory_info_ex`. Needs the task port: the caller's own process always; others need root (or the debugger entitlement) and are [`Error::AccessDenied`] otherwise. |
    /// | FreeBSD | The same as [`memory_info`](Self::memory_info): psutil 8 has no extra FreeBSD fields. |
    pub fn memory_info_ex(&self) -> Result<MemoryInfoEx> {
        self.inner.memory_info_ex()
    }

    /// [`memory_info`](Self::memory_info) plus USS (and on Linux PSS and swap), in bytes: psutil's
    /// `memory_full_info()`.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | [`memory_info`](Self::memory_info) plus USS, PSS and swap. Reads `/proc/PID/smaps_rollup` (one summed block; the kernel still walks the page tables, so this costs 10× or more than statm), and the full `/proc/PID/smaps` only when the rollup answers ESRCH or ENOENT, as kernel threads, zombies and kernels before 4.14 do; their empty smaps gives 0 for all three. Another user's process (or one holding capabilities the caller lacks) gives [`Error::AccessDenied`](crate::Error::AccessDenied): both files need `PTRACE_MODE_READ`. |
    /// | Windows | [`memory_info`](Self::memory_info) plus [`memory_footprint`](Self::memory_footprint)'s USS. psutil's `memory_full_info()` on Windows. |
    /// | macOS | [`memory_info`](Self::memory_info) plus [`memory_footprint`](Self::memory_footprint)'s USS. psutil's `memory_full_info()` on macOS. |
    /// | FreeBSD | The same as [`memory_info`](Self::memory_info): FreeBSD has no USS (psutil's `pfullmem` is `pmem` there). |
    ///
    /// On Linux:
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// let me = memsight::Process::current()?;
    /// let m = me.memory_full_info()?;
    /// assert!(m.uss > 0 && m.pss >= m.uss && m.rss >= m.uss);
    /// # }
    /// # Ok::<(), memsight::Error>(())
    /// ```
    pub fn memory_full_info(&self) -> Result<MemoryFullInfo> {
        self.inner.memory_full_info()
    }

    /// USS (and on Linux PSS and swap): psutil 8's `memory_footprint()`, in bytes.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | USS, PSS and swap (psutil 8's `memory_footprint()`): the same reads and errors as [`memory_full_info`](Self::memory_full_info), without statm. |
    /// | Windows | USS: the private pages of the working set × the page size (`QueryWorkingSet` with `PROCESS_QUERY_INFORMATION`, the buffer doubled while too small). psutil 8's `memory_footprint()` on Windows. [`Error::Unsupported`] where neither working-set call takes the process (under Wine, every process but the caller). |
    /// | macOS | USS: the resident pages of private and copy-on-write regions not shared with another process, the dyld shared region left out (also on arm64, which psutil misses), × the page size. psutil 8's macOS `memory_footprint()`: `proc_pidinfo(PROC_PIDREGIONINFO)` per region, no task port needed (same user or root). |
    /// | FreeBSD | Always [`Error::Unsupported`]: psutil 8 has no `memory_footprint()` on FreeBSD, whose kernel gives no per-process USS (the per-mapping `private` of [`memory_maps`](Self::memory_maps) is the nearest figure). |
    ///
    /// On Linux:
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// let me = memsight::Process::current()?;
    /// let f = me.memory_footprint()?;
    /// assert!(f.uss > 0 && f.pss >= f.uss);
    /// # }
    /// # Ok::<(), memsight::Error>(())
    /// ```
    pub fn memory_footprint(&self) -> Result<MemoryFootprint> {
        self.inner.memory_footprint()
    }

    /// The memory mappings, in address order; with `grouped`, one record per path with the numbers
    /// summed (psutil's `memory_maps(grouped)`).
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The process's memory mappings from `/proc/PID/smaps` (cached inside [`oneshot`](Self::oneshot)), in address order; with `grouped`, one record per path with the sizes summed, in first-seen order and with empty `addr`/`perms` (grouped by the exact path bytes). psutil's rules: paths keep their spaces, a missing path is `[anon]`, missing keys are 0, an empty `VmFlags:` is fine. A path ending in ` (deleted)` loses the suffix when the mapped file has no link left, as `statx(2)` of `/proc/PID/map_files/START-END` sees it without asking the file's filesystem; psutil instead looks the literal path up, which hangs for good on a FUSE mount whose server stopped answering. Where `map_files` may not be followed (it needs `CAP_SYS_ADMIN`), the suffix is taken as the kernel's mark of an unlinked file and removed. A kernel thread has no mappings (an empty list); a zombie gives [`Error::ZombieProcess`]; another user's process gives [`Error::AccessDenied`]. This is the slowest getter: the kernel walks every mapping's page tables. |
    /// | Windows | The regions that map a file (`VirtualQueryEx` from address 0, `GetMappedFileNameW` on each), in address order; with `grouped`, one record per path with `rss` summed. `rss` is the region's resident bytes (`QueryWorkingSetEx`, see `MemoryMap::rss`); where that call refuses the process (Wine, for every process but the caller) it falls back to the region size, psutil's figure (not truncated to 32 bits). |
    /// | macOS | The VM regions in address order (`proc_pidinfo(PROC_PIDREGIONPATHINFO)` per region: the region and its file in one call, no task port, same user or root); with `grouped`, one record per path with the numbers summed. Anonymous regions have the path `[anon]`. |
    /// | FreeBSD | The mappings (`kern.proc.vmmap.PID`, what libutil's `kinfo_getvmmap` reads), in address order; with `grouped`, one record per path with every number summed. See [`MemoryMap`]. |
    ///
    /// On Linux:
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// let me = memsight::Process::current()?;
    /// let maps = me.memory_maps(true)?;
    /// assert!(maps.iter().any(|m| m.path == "[stack]"));
    /// # }
    /// # Ok::<(), memsight::Error>(())
    /// ```
    pub fn memory_maps(&self, grouped: bool) -> Result<Vec<MemoryMap>> {
        self.inner.memory_maps(grouped)
    }

    /// I/O counters of the process. Not on macOS (psutil has none there).
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | Bytes and calls of read and write I/O (`/proc/PID/io`; another user's process gives [`Error::AccessDenied`], as the kernel requires `PTRACE_MODE_READ`). A kernel built without task I/O accounting (`CONFIG_TASK_IO_ACCOUNTING`) has no such file: [`Error::Unsupported`], as psutil raises NotImplementedError, while the process still answers. |
    /// | Windows | I/O operations and bytes (`GetProcessIoCounters`). |
    /// | FreeBSD | Block I/O operations (`ki_rusage.ru_inblock`/`ru_oublock`); see [`IoCounters`]. |
    #[cfg(any(target_os = "linux", windows, target_os = "freebsd"))]
    pub fn io_counters(&self) -> Result<IoCounters> {
        self.inner.io_counters()
    }

    /// The number of open file descriptors. Unix only.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The number of open file descriptors (the entries of `/proc/PID/fd`). |
    /// | macOS | Open descriptors (`PROC_PIDLISTFDS`). pid 0 has none, as psutil. |
    /// | FreeBSD | Open descriptors: the file table's entries with `kf_fd >= 0`. psutil 8 also counts the cwd, root, jail, text and ctty pseudo-entries; memsight counts descriptors only. |
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
    pub fn num_fds(&self) -> Result<usize> {
        self.inner.num_fds()
    }

    /// The regular files the process has open. Not on Windows.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The regular files the process has open, in descriptor order: each `/proc/PID/fd/N` link that is an absolute path to a regular file, with the offset and flags of `/proc/PID/fdinfo/N`. Descriptors closed meanwhile are skipped. Paths are the exact bytes. psutil `stat`s each path by name to see a regular file; that lookup hangs for good on a FUSE mount whose server stopped answering, and names another file when the path was replaced. Here the type is the held file's, from `statx(2)` on the `fd/N` magic link with `AT_STATX_DONT_SYNC`, so its filesystem is not asked: it cannot block, and it describes the very file the descriptor holds. |
    /// | macOS | The regular files open (`proc_pidfdinfo(PROC_PIDFDVNODEPATHINFO)` for each vnode descriptor; descriptors closed meanwhile are skipped; only paths that are regular files now are kept, as psutil's `isfile_strict`). pid 0 gives none (#2116). |
    /// | FreeBSD | The regular files the process has open (file-table entries of type `KF_TYPE_VNODE` and vnode type `KF_VTYPE_VREG`), in descriptor order; see [`OpenFile`]. |
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
    pub fn open_files(&self) -> Result<Vec<OpenFile>> {
        self.inner.open_files()
    }

    /// The real, effective and saved user ids. Unix only.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The real, effective and saved user ids (`/proc/PID/status` `Uid:`). |
    /// | macOS | The real, effective and saved user ids (`kinfo_proc`). |
    /// | FreeBSD | The real, effective and saved user ids (`ki_ruid`, `ki_uid`, `ki_svuid`). |
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
    pub fn uids(&self) -> Result<Uids> {
        self.inner.uids()
    }

    /// The real, effective and saved group ids. Unix only.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | The real, effective and saved group ids (`/proc/PID/status` `Gid:`). |
    /// | macOS | The real, effective and saved group ids (`kinfo_proc`). |
    /// | FreeBSD | The real, effective and saved group ids (`ki_rgid`, `ki_groups[0]`, `ki_svgid`). |
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
    pub fn gids(&self) -> Result<Gids> {
        self.inner.gids()
    }

    /// Every thread, sorted by id, with its CPU times. Linux and Windows.
    ///
    /// | OS | Where it comes from |
    /// | --- | --- |
    /// | Linux | Every thread, sorted by id: the entries of `/proc/PID/task` and the times in each `task/TID/stat`. Threads that exit while being listed are left out. Readable for every user's processes. |
    /// | Windows | Every thread, sorted by id, with its user and kernel time: the `SYSTEM_THREAD_INFORMATION` entries of a fresh snapshot (the times psutil reads per thread with `GetThreadTimes`, without opening each thread). |
    #[cfg(any(target_os = "linux", windows))]
    pub fn threads(&self) -> Result<Vec<Thread>> {
        self.inner.threads()
    }

    /// Open handles (`GetProcessHandleCount`). Windows only.
    #[cfg(windows)]
    pub fn num_handles(&self) -> Result<u64> {
        self.inner.num_handles()
    }

    /// [`cmdline`](Self::cmdline) with each argument as the exact bytes the process holds, split by
    /// the same rules. Exact. Linux only.
    #[cfg(target_os = "linux")]
    pub fn cmdline_os(&self) -> Result<Vec<OsString>> {
        self.inner.cmdline_os()
    }

    /// The CPUs the process may run on, ascending (`sched_getaffinity(pid)`). Linux only.
    #[cfg(target_os = "linux")]
    pub fn cpu_affinity(&self) -> Result<Vec<u32>> {
        self.inner.cpu_affinity()
    }

    /// The CPU the process last ran on (`/proc/PID/stat` field 39). Linux only.
    #[cfg(target_os = "linux")]
    pub fn cpu_num(&self) -> Result<u32> {
        self.inner.cpu_num()
    }

    /// [`environ`](Self::environ) with keys and values as the exact bytes the process holds. Linux
    /// only.
    #[cfg(target_os = "linux")]
    pub fn environ_os(&self) -> Result<BTreeMap<OsString, OsString>> {
        self.inner.environ_os()
    }

    /// The I/O priority (`ioprio_get(IOPRIO_WHO_PROCESS, pid)`). Linux only.
    #[cfg(target_os = "linux")]
    pub fn ionice(&self) -> Result<IoNice> {
        self.inner.ionice()
    }

    /// [`name`](Self::name) as the exact bytes the kernel holds (any byte but NUL and newline may
    /// be in a command name). Exact. Linux only.
    #[cfg(target_os = "linux")]
    pub fn name_os(&self) -> Result<OsString> {
        self.inner.name_os()
    }

    /// The process's sockets of the given kind, sorted by descriptor: every `socket:[INODE]` link
    /// in `/proc/PID/fd` found in the socket tables of the process's network namespace
    /// (`/proc/PID/net/tcp` etc.; psutil reads the caller's, which is the same unless the process
    /// lives in another namespace). Needs the right to list `/proc/PID/fd`. Linux only.
    #[cfg(target_os = "linux")]
    pub fn net_connections(&self, kind: ConnectionKind) -> Result<Vec<Connection>> {
        self.inner.net_connections(kind)
    }

    /// The nice value, -20 (favoured) to 19 (`/proc/PID/stat` field 19; the same number
    /// `getpriority(PRIO_PROCESS, pid)` gives psutil, read through the handle so a reused pid is
    /// never asked). Linux only.
    #[cfg(target_os = "linux")]
    pub fn nice(&self) -> Result<i32> {
        self.inner.nice()
    }

    /// Voluntary and involuntary context switches (`voluntary_ctxt_switches` and
    /// `nonvoluntary_ctxt_switches` of `/proc/PID/status`). Kernels before 2.6.23 lack the lines:
    /// [`Error::Unsupported`], as psutil raises NotImplementedError. Linux only.
    #[cfg(target_os = "linux")]
    pub fn num_ctx_switches(&self) -> Result<CtxSwitches> {
        self.inner.num_ctx_switches()
    }

    /// The owner of the `/proc/PID` directory (`fstat(2)` of the handle's descriptor, no file
    /// read). The kernel sets it to the process's *effective* uid, or to 0 when the process is not
    /// dumpable (setuid programs, some daemons); so it usually equals `uids().real`, but not
    /// always. It is what `memsight ps` shows, because it costs no read. Linux only.
    #[cfg(target_os = "linux")]
    pub fn owner_uid(&self) -> Result<u32> {
        self.inner.owner_uid()
    }

    /// Minor and major page faults (`/proc/PID/stat` fields 10 and 12). Linux only.
    #[cfg(target_os = "linux")]
    pub fn page_faults(&self) -> Result<PageFaults> {
        self.inner.page_faults()
    }

    /// The procfs view this handle reads from. Linux only.
    #[cfg(target_os = "linux")]
    pub fn procfs(&self) -> &ProcFs {
        self.inner.procfs()
    }

    /// The soft and hard limit of one resource (psutil's `rlimit(RLIMIT_X)`). Linux only.
    #[cfg(target_os = "linux")]
    pub fn rlimit(&self, resource: Resource) -> Result<Rlimit> {
        self.inner.rlimit(resource)
    }

    /// Every resource limit, in alphabetical order of [`Resource`], from `/proc/PID/limits`. psutil
    /// calls `prlimit(2)`, which needs to be the same user (or `CAP_SYS_RESOURCE`); the file is
    /// readable by everyone and is read through the handle, so this works for any process and never
    /// asks a reused pid. Linux only.
    #[cfg(target_os = "linux")]
    pub fn rlimits(&self) -> Result<Vec<(Resource, Rlimit)>> {
        self.inner.rlimits()
    }

    /// The controlling terminal (`/dev/pts/3`), or `None`: the device number in `/proc/PID/stat`
    /// field 7 matched against the `st_rdev` of `/dev/tty*` and `/dev/pts/*`, as psutil does (the
    /// likely name is tried first, so this is a `stat` or two, not a scan). Linux only.
    #[cfg(target_os = "linux")]
    pub fn terminal(&self) -> Result<Option<PathBuf>> {
        self.inner.terminal()
    }

    /// The path of this process's memory cgroup as `/proc/PID/cgroup` names it
    /// (`/system.slice/nginx.service`): the line of the v1 hierarchy holding the `memory`
    /// controller when there is one, else the v2 unified hierarchy's (`0::`); `None` when the
    /// file has neither. One small read, readable for every user's processes; a zombie's file is
    /// still there. [`ProcFs::cgroup_memory_of`] reads the cgroup's figures as well. Linux only.
    ///
    /// ```
    /// let me = memsight::Process::current()?;
    /// if let Some(path) = me.memory_cgroup()? {
    ///     assert!(path.starts_with('/'));
    /// }
    /// # Ok::<(), memsight::Error>(())
    /// ```
    #[cfg(target_os = "linux")]
    pub fn memory_cgroup(&self) -> Result<Option<String>> {
        self.inner.memory_cgroup()
    }
}
