//! Helpers shared by the test files (each file includes this module).
#![allow(dead_code)] // not every test file uses every helper

pub mod cockpit;
pub mod dash;
pub mod headless;
pub mod pump;
pub mod writer;
pub mod xml;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

/// A rendered screen as text, one line per row, trailing blanks trimmed.
pub fn screen_text(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| {
            let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            line.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Draws once into a `w` × `h` TestBackend and returns the screen as text.
pub fn draw(w: u16, h: u16, paint: impl FnOnce(&mut ratatui::Frame)) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    term.draw(paint).expect("draws");
    screen_text(term.backend().buffer())
}

/// Two local servers, db1 primary and db2 replica, for tests that never connect.
pub const LOCAL_PAIR: &str = r#"
[maxscale]
url = "http://127.0.0.1:8989"

[[server]]
name = "db1"
role = "primary"
mysql = { host = "127.0.0.1", port = 3306 }
transport = "local"

[[server]]
name = "db2"
role = "replica"
mysql = { host = "127.0.0.1", port = 3307 }
transport = "local"
"#;

/// One primary and two replicas, all on this machine, for tests that never connect.
pub const LOCAL_THREE: &str = r#"
[[server]]
name = "db1"
role = "primary"
mysql = { host = "127.0.0.1", port = 3306 }
transport = "local"

[[server]]
name = "db2"
role = "replica"
mysql = { host = "127.0.0.1", port = 3307 }
transport = "local"

[[server]]
name = "db3"
role = "replica"
mysql = { host = "127.0.0.1", port = 3308 }
transport = "local"
"#;

/// One server, `db1`, whose shell steps run here and whose MySQL port answers nothing:
/// for sessions that need no database.
pub const LOCAL_DB1: &str = r#"
[[server]]
name = "db1"
role = "primary"
mysql = { host = "127.0.0.1", port = 1 }
transport = "local"
"#;
