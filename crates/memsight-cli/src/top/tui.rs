//! The full-screen view: ratatui over crossterm, in the alternate screen and raw mode, both
//! undone on every way out (quit, error, panic).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ratatui::Frame as Screen;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};

use memsight::MemoryMap;

use super::input::{self, Action, Edit};
use super::model::{Row, SortKey};
use super::text;
use super::{COSTS, Frame, Top, is_root};
use crate::output::{bytes2human, sanitize};

/// What the screen shows.
#[derive(Debug, Clone, PartialEq)]
enum Mode {
    Table,
    /// Typing a filter.
    Filter,
    /// Typing a user.
    User,
    Help,
    /// One process's detail.
    Detail(u32),
}

/// The memory figures and grouped maps of the process in the detail view.
struct Detail {
    pid: u32,
    lines: Vec<String>,
    maps: Vec<MemoryMap>,
    error: Option<String>,
}

struct App {
    mode: Mode,
    /// The selected process (kept across refreshes), or the selected row when it has no pid.
    selected: Option<u32>,
    index: usize,
    offset: usize,
    paused: bool,
    typed: String,
    detail: Option<Detail>,
    colour: bool,
}

/// Runs the view until `q`.
pub fn run(top: &mut Top, delay: Duration) -> anyhow::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let result = run_loop(&mut terminal, top, delay);
    let restored = ratatui::try_restore();
    result?;
    restored?;
    Ok(())
}

fn run_loop(
    terminal: &mut ratatui::DefaultTerminal,
    top: &mut Top,
    delay: Duration,
) -> anyhow::Result<()> {
    let mut app = App {
        mode: Mode::Table,
        selected: None,
        index: 0,
        offset: 0,
        paused: false,
        typed: String::new(),
        detail: None,
        colour: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    let mut frame = top.refresh()?;
    let mut next = Instant::now() + delay;
    loop {
        let size = terminal.size()?;
        let page = table_height(&frame, size.height);
        let mut rows = top.rows(&mut frame, false);
        app.place(&rows, page);
        let visible: HashSet<u32> = rows
            .iter()
            .skip(app.offset)
            .take(page)
            .map(|r| r.proc.pid)
            .collect();
        rows = top.rows_with_extras(&mut frame, rows, &visible);
        if let Mode::Detail(pid) = app.mode
            && app.detail.as_ref().is_none_or(|d| d.pid != pid)
        {
            app.detail = Some(read_detail(top, pid));
        }
        terminal.draw(|s| draw(s, &app, top, &frame, &rows))?;
        let timeout = next.saturating_duration_since(Instant::now());
        if event::poll(timeout)?
            && let Event::Key(key) = event::read()?
            && key.kind != KeyEventKind::Release
            && app.key(key, top, &rows, page)
        {
            return Ok(());
        }
        if Instant::now() >= next {
            if !app.paused {
                frame = top.refresh()?;
                if let Mode::Detail(pid) = app.mode {
                    app.detail = Some(read_detail(top, pid));
                }
            }
            next = Instant::now() + delay;
        }
    }
}

/// Rows of the table on a screen `height` lines high.
fn table_height(frame: &Frame, height: u16) -> usize {
    let header = text::header_lines(&frame.header).len() + 1;
    usize::from(height).saturating_sub(header + 2).max(1)
}

impl App {
    /// Keeps the selection on its process and inside the screen.
    fn place(&mut self, rows: &[Row], page: usize) {
        if let Some(pid) = self.selected
            && let Some(i) = rows.iter().position(|r| r.proc.pid == pid && pid != 0)
        {
            self.index = i;
        }
        self.index = self.index.min(rows.len().saturating_sub(1));
        if self.index < self.offset {
            self.offset = self.index;
        } else if self.index >= self.offset + page {
            self.offset = self.index + 1 - page;
        }
        self.offset = self.offset.min(rows.len().saturating_sub(page));
    }

    /// Handles a key; true to quit.
    fn key(&mut self, key: event::KeyEvent, top: &mut Top, rows: &[Row], page: usize) -> bool {
        match self.mode {
            Mode::Filter | Mode::User => {
                let editing_filter = self.mode == Mode::Filter;
                match input::edit(&mut self.typed, key) {
                    Edit::Typing => {
                        if editing_filter {
                            top.view.filter = self.typed.clone();
                        }
                    }
                    Edit::Done => {
                        if editing_filter {
                            top.view.filter = self.typed.trim().to_owned();
                        } else {
                            let user = self.typed.trim();
                            top.view.user = (!user.is_empty()).then(|| user.to_owned());
                        }
                        self.mode = Mode::Table;
                    }
                    Edit::Cancel => {
                        if editing_filter {
                            top.view.filter.clear();
                        }
                        self.mode = Mode::Table;
                    }
                }
                return false;
            }
            Mode::Help | Mode::Detail(_) => {
                if matches!(
                    key.code,
                    event::KeyCode::Char('q') | event::KeyCode::Char('c')
                ) && key.modifiers.contains(event::KeyModifiers::CONTROL)
                {
                    return true;
                }
                if key.code == event::KeyCode::Char('q') && self.mode == Mode::Help {
                    return true;
                }
                if key.code == event::KeyCode::Char('p') {
                    self.paused = !self.paused;
                } else {
                    self.mode = Mode::Table;
                }
                return false;
            }
            Mode::Table => {}
        }
        match input::action(key, page) {
            Action::Quit => return true,
            Action::Move(by) => {
                let last = rows.len().saturating_sub(1);
                self.index = self.index.saturating_add_signed(by).min(last);
                self.selected = rows.get(self.index).map(|r| r.proc.pid);
            }
            Action::Jump(end) => {
                self.index = if end { rows.len().saturating_sub(1) } else { 0 };
                self.selected = rows.get(self.index).map(|r| r.proc.pid);
            }
            Action::Sort(k) => set_sort(top, k),
            Action::SortStep(by) => {
                let k = top.view.sort.step(by);
                top.view.sort = k;
            }
            Action::Reverse => top.view.reverse = !top.view.reverse,
            Action::Filter => {
                self.typed = top.view.filter.clone();
                self.mode = Mode::Filter;
            }
            Action::User => {
                self.typed = top.view.user.clone().unwrap_or_default();
                self.mode = Mode::User;
            }
            Action::Tree => {
                top.view.tree = !top.view.tree;
                top.view.cgroups = false;
            }
            Action::Cgroups => {
                top.view.cgroups = !top.view.cgroups;
                top.view.tree = false;
            }
            Action::Pause => self.paused = !self.paused,
            Action::Help => self.mode = Mode::Help,
            Action::Detail => {
                if let Some(r) = rows.get(self.index).filter(|r| r.proc.pid != 0) {
                    self.mode = Mode::Detail(r.proc.pid);
                    self.detail = None;
                }
            }
            Action::None => {}
        }
        false
    }
}

fn set_sort(top: &mut Top, k: SortKey) {
    if top.view.sort == k {
        top.view.reverse = !top.view.reverse;
    } else {
        top.view.sort = k;
        top.view.reverse = false;
    }
}

fn read_detail(top: &Top, pid: u32) -> Detail {
    let mut d = Detail {
        pid,
        lines: Vec::new(),
        maps: Vec::new(),
        error: None,
    };
    let p = match top.procfs.process(pid) {
        Ok(p) => p,
        Err(e) => {
            d.error = Some(e.to_string());
            return d;
        }
    };
    p.oneshot(|p| {
        match p.memory_info_ex() {
            Ok(m) => {
                d.lines.push(format!(
                    "memory     rss={}, vms={}, shared={}, text={}, data={}",
                    bytes2human(m.rss),
                    bytes2human(m.vms),
                    bytes2human(m.shared),
                    bytes2human(m.text),
                    bytes2human(m.data)
                ));
                d.lines.push(format!(
                    "memory-ex  peak_rss={}, peak_vms={}, rss_anon={}, rss_file={}, rss_shmem={}, swap={}, hugetlb={}",
                    bytes2human(m.peak_rss),
                    bytes2human(m.peak_vms),
                    bytes2human(m.rss_anon),
                    bytes2human(m.rss_file),
                    bytes2human(m.rss_shmem),
                    bytes2human(m.swap),
                    bytes2human(m.hugetlb)
                ));
            }
            Err(e) => d.error = Some(e.to_string()),
        }
        match p.memory_full_info() {
            Ok(f) => d.lines.push(format!(
                "memory-full uss={}, pss={}, swap={}",
                bytes2human(f.uss),
                bytes2human(f.pss),
                bytes2human(f.swap)
            )),
            Err(e) => d.lines.push(format!("memory-full {e}")),
        }
        match p.memory_maps(true) {
            Ok(mut maps) => {
                maps.sort_by_key(|m| std::cmp::Reverse(m.sizes.rss));
                d.maps = maps;
            }
            Err(e) => d.lines.push(format!("maps       {e}")),
        }
    });
    d
}

fn draw(s: &mut Screen, app: &App, top: &Top, frame: &Frame, rows: &[Row]) {
    let area = s.area();
    match &app.mode {
        Mode::Help => return draw_help(s, area),
        Mode::Detail(pid) => return draw_detail(s, area, app, top, *pid),
        _ => {}
    }
    let header = text::header_lines(&frame.header);
    let [head, table, foot] = Layout::vertical([
        Constraint::Length(u16::try_from(header.len() + 1).unwrap_or(u16::MAX)),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let v = &top.view;
    let mut mode = Vec::new();
    if v.tree {
        mode.push("tree".to_owned());
    }
    if v.cgroups {
        mode.push("cgroups".to_owned());
    }
    if !v.filter.is_empty() {
        mode.push(format!("filter '{}'", sanitize(&v.filter)));
    }
    if let Some(u) = &v.user {
        mode.push(format!("user {}", sanitize(u)));
    }
    if app.paused {
        mode.push("PAUSED".to_owned());
    }
    let title = format!(
        "memsight top - {}, {} processes{}{}",
        crate::output::format_time(frame.time),
        frame.procs.len(),
        if mode.is_empty() { "" } else { ", " },
        mode.join(", ")
    );
    let mut lines = vec![Line::from(title.bold())];
    lines.extend(header.into_iter().map(Line::from));
    s.render_widget(Paragraph::new(lines), head);

    let cols = text::columns(Some(usize::from(area.width)), v.sort);
    let page = usize::from(table.height.saturating_sub(1));
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:<w$}",
            text::title_line(&cols, v.sort, v.reverse),
            w = usize::from(area.width)
        ),
        Style::new().add_modifier(Modifier::REVERSED),
    ))];
    for (i, r) in rows.iter().enumerate().skip(app.offset).take(page) {
        let mut style = Style::new();
        if r.suspect() && app.colour {
            style = style.red().bold();
        } else if r.suspect() {
            style = style.bold();
        }
        if i == app.index {
            style = style.add_modifier(Modifier::REVERSED);
        }
        lines.push(Line::from(Span::styled(text::row_line(&cols, r), style)));
    }
    s.render_widget(Paragraph::new(lines), table);

    let footer = match app.mode {
        Mode::Filter => format!("Filter (name or command): {}_", sanitize(&app.typed)),
        Mode::User => format!(
            "User (name or uid, empty for all): {}_",
            sanitize(&app.typed)
        ),
        _ => format!("{}  ? help  q quit", text::footer(rows, is_root())),
    };
    s.render_widget(Paragraph::new(footer), foot);
}

fn draw_help(s: &mut Screen, area: Rect) {
    let mut lines = vec![Line::from("memsight top: help (any key to go back)".bold())];
    lines.extend(COSTS.lines().map(Line::from));
    s.render_widget(
        Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }),
        area,
    );
}

fn draw_detail(s: &mut Screen, area: Rect, app: &App, top: &Top, pid: u32) {
    let samples: Vec<_> = top.history.samples(pid).copied().collect();
    let uss: Vec<u64> = samples.iter().map(|x| x.uss).collect();
    let pss: Vec<u64> = samples.iter().map(|x| x.pss).collect();
    let [info, spark_uss, spark_pss, maps] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Length(4),
        Constraint::Length(4),
        Constraint::Min(1),
    ])
    .areas(area);
    let mut lines = vec![Line::from(
        format!("Process {pid} (any key to go back, p pause)").bold(),
    )];
    if let Some(d) = &app.detail {
        if let Some(e) = &d.error {
            lines.push(Line::from(format!("error      {}", sanitize(e))));
        }
        lines.extend(d.lines.iter().map(|l| Line::from(sanitize(l).into_owned())));
    }
    s.render_widget(Paragraph::new(lines), info);
    let range = |v: &[u64]| {
        let lo = v.iter().copied().min().unwrap_or(0);
        let hi = v.iter().copied().max().unwrap_or(0);
        format!(
            "now {}, min {}, max {}, {} samples",
            bytes2human(v.last().copied().unwrap_or(0)),
            bytes2human(lo),
            bytes2human(hi),
            v.len()
        )
    };
    // The sparkline's floor is the series' minimum, so a slow climb shows.
    let lift = |v: &[u64]| {
        let lo = v.iter().copied().min().unwrap_or(0);
        v.iter()
            .map(|x| (x - lo).saturating_add(1))
            .collect::<Vec<u64>>()
    };
    let width = usize::from(area.width.saturating_sub(2));
    let tail = |v: Vec<u64>| v[v.len().saturating_sub(width)..].to_vec();
    s.render_widget(
        Sparkline::default()
            .block(Block::bordered().title(format!("USS: {}", range(&uss))))
            .data(tail(lift(&uss))),
        spark_uss,
    );
    s.render_widget(
        Sparkline::default()
            .block(Block::bordered().title(format!("PSS: {}", range(&pss))))
            .data(tail(lift(&pss))),
        spark_pss,
    );
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:>8} {:>8} {:>8} {:>8}  {}",
            "RSS", "PSS", "PRIVATE", "SWAP", "PATH (maps grouped)"
        ),
        Style::new().add_modifier(Modifier::REVERSED),
    ))];
    if let Some(d) = &app.detail {
        for m in &d.maps {
            let z = &m.sizes;
            lines.push(Line::from(format!(
                "{:>8} {:>8} {:>8} {:>8}  {}",
                bytes2human(z.rss),
                bytes2human(z.pss),
                bytes2human(z.private_clean.saturating_add(z.private_dirty)),
                bytes2human(z.swap),
                sanitize(if m.path.is_empty() { "[anon]" } else { &m.path })
            )));
        }
    }
    s.render_widget(Paragraph::new(lines), maps);
}
