//! The keys of the full-screen view, as top and htop have them. Pure: a key in, an action out.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::model::SortKey;

/// What a key asks for in the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Leave (`q`, Ctrl-C; not Esc, which leaves the detail and help pages).
    Quit,
    /// Move the selection by this many rows.
    Move(isize),
    /// To the first (`Home`) or last (`End`) row.
    Jump(bool),
    /// Sort by this column.
    Sort(SortKey),
    /// Sort by the column left (`<`) or right (`>`) of the current one.
    SortStep(isize),
    /// Reverse the order (`I`, htop's key).
    Reverse,
    /// Type a filter on name or command line (`/`).
    Filter,
    /// Type a user (`u`).
    User,
    /// Tree by parent on and off (`t`).
    Tree,
    /// One row per cgroup on and off (`c`).
    Cgroups,
    /// Stop and resume refreshing (`p`).
    Pause,
    /// The help page (`?`, `h`).
    Help,
    /// The selected process's detail (Enter).
    Detail,
    /// Nothing.
    None,
}

/// The action of `key` on the table; `page` is the number of rows on screen.
pub fn action(key: KeyEvent, page: usize) -> Action {
    let page = isize::try_from(page.max(1)).unwrap_or(isize::MAX);
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c') => Action::Quit,
            _ => Action::None,
        };
    }
    match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Up | KeyCode::Char('k') => Action::Move(-1),
        KeyCode::Down | KeyCode::Char('j') => Action::Move(1),
        KeyCode::PageUp => Action::Move(-page),
        KeyCode::PageDown | KeyCode::Char(' ') => Action::Move(page),
        KeyCode::Home => Action::Jump(false),
        KeyCode::End => Action::Jump(true),
        KeyCode::Enter => Action::Detail,
        KeyCode::Char('<') | KeyCode::Char(',') | KeyCode::Left => Action::SortStep(-1),
        KeyCode::Char('>') | KeyCode::Char('.') | KeyCode::Right => Action::SortStep(1),
        KeyCode::Char('I') => Action::Reverse,
        KeyCode::Char('/') => Action::Filter,
        KeyCode::Char('u') => Action::User,
        KeyCode::Char('t') => Action::Tree,
        KeyCode::Char('c') => Action::Cgroups,
        KeyCode::Char('p') => Action::Pause,
        KeyCode::Char('?') | KeyCode::Char('h') | KeyCode::F(1) => Action::Help,
        KeyCode::Char(c) => sort_key(c).map_or(Action::None, Action::Sort),
        _ => Action::None,
    }
}

/// The column a capital letter sorts by (`M`, top's memory key, is USS).
fn sort_key(c: char) -> Option<SortKey> {
    Some(match c {
        'N' => SortKey::Pid,
        'M' | 'U' => SortKey::Uss,
        'S' => SortKey::Pss,
        'E' => SortKey::Epss,
        'W' => SortKey::Swap,
        'R' => SortKey::Rss,
        'K' => SortKey::PeakRss,
        'G' => SortKey::Growth,
        'C' => SortKey::Command,
        _ => return None,
    })
}

/// What a key does to a line being typed (filter or user).
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Keep typing.
    Typing,
    /// Enter: take the text.
    Done,
    /// Esc: drop the text.
    Cancel,
}

/// Applies `key` to `text`: printable characters are added (control ones never are), Backspace
/// removes the last, Ctrl-U clears.
pub fn edit(text: &mut String, key: KeyEvent) -> Edit {
    match key.code {
        KeyCode::Enter => Edit::Done,
        KeyCode::Esc => Edit::Cancel,
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => Edit::Cancel,
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            text.clear();
            Edit::Typing
        }
        KeyCode::Backspace => {
            text.pop();
            Edit::Typing
        }
        KeyCode::Char(c) if !c.is_control() && text.chars().count() < 200 => {
            text.push(c);
            Edit::Typing
        }
        _ => Edit::Typing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn keys_like_top_and_htop() {
        assert_eq!(action(key(KeyCode::Char('q')), 20), Action::Quit);
        assert_eq!(
            action(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), 20),
            Action::Quit
        );
        assert_eq!(action(key(KeyCode::Char('c')), 20), Action::Cgroups);
        assert_eq!(action(key(KeyCode::Esc), 20), Action::None);
        assert_eq!(action(key(KeyCode::PageDown), 20), Action::Move(20));
        assert_eq!(action(key(KeyCode::Char('<')), 20), Action::SortStep(-1));
        assert_eq!(
            action(key(KeyCode::Char('R')), 20),
            Action::Sort(SortKey::Rss)
        );
        assert_eq!(
            action(key(KeyCode::Char('M')), 20),
            Action::Sort(SortKey::Uss)
        );
        assert_eq!(action(key(KeyCode::Char('Z')), 20), Action::None);
    }

    #[test]
    fn typing_a_filter() {
        let mut text = String::new();
        for c in "ab\x1bc".chars() {
            edit(&mut text, key(KeyCode::Char(c)));
        }
        assert_eq!(text, "abc");
        assert_eq!(edit(&mut text, key(KeyCode::Backspace)), Edit::Typing);
        assert_eq!(text, "ab");
        assert_eq!(edit(&mut text, key(KeyCode::Enter)), Edit::Done);
        assert_eq!(edit(&mut text, key(KeyCode::Esc)), Edit::Cancel);
    }
}
