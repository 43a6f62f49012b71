//! Commands that read one of their arguments again as code: `eval`, `sh -c SCRIPT`,
//! `su -c COMMAND`, `ssh HOST COMMAND…`, `watch COMMAND…`, `mysql -e SQL`. Quoting a value
//! for the shell that runs the step does not hold for that second reader, so a reference in
//! such an argument is refused. Common spellings are recognised (wrappers like `sudo`,
//! `env`, `timeout`, `xargs` and assignments before the command, `find … -exec COMMAND`,
//! combined flags like `-ec`); this is a net under the rule, not a parser of every
//! program's options.

/// Commands run through these keep their own arguments' meaning.
const WRAPPERS: [&str; 11] = [
    "sudo", "doas", "exec", "command", "nohup", "env", "time", "nice", "ionice", "setsid", "stdbuf",
];
/// Options of the wrappers above that take the next word as their value.
const WRAPPER_ARGS: [&str; 8] = ["-u", "-g", "-n", "-c", "-C", "-o", "-s", "-k"];
/// `xargs`'s options that take the next word as their value (`xargs -I{} sh -c …`).
const XARGS_ARGS: [&str; 8] = ["-I", "-L", "-n", "-P", "-s", "-d", "-E", "-a"];
/// `find`'s actions whose following words are a command it runs.
const FIND_EXEC: [&str; 4] = ["-exec", "-execdir", "-ok", "-okdir"];

/// The program that reads the current word again, if any. `words` are the simple command's
/// words before the current one, as written (quoted parts left out); `current` is the
/// current word up to the reference.
pub(super) fn reread(words: &[String], current: &str) -> Option<&'static str> {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let (program, args) = program(&words)?;
    let last = args.last().copied().unwrap_or("");
    match program {
        "eval" => Some("`eval`"),
        "watch" => Some("`watch`"),
        "ssh" => Some("`ssh`"),
        "sh" | "bash" | "dash" | "ksh" | "mksh" | "zsh" | "ash" | "busybox" => {
            let c = args
                .iter()
                .position(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('c'))?;
            // The first word after `-c` that is not an option is the script.
            let (_, after_c) = args.get(c..)?.split_first()?;
            let script_is_current = after_c.iter().all(|a| a.starts_with('-'));
            script_is_current.then_some("`sh -c`")
        }
        "su" | "runuser" => {
            let code = last == "-c" || last == "--command" || current.starts_with("--command=");
            code.then_some("`su -c`")
        }
        "mysql" | "mariadb" => {
            let short_e = |a: &str| {
                a.strip_prefix('-')
                    .is_some_and(|f| f.ends_with('e') && f.chars().all(|c| c.is_ascii_alphabetic()))
            };
            let code = short_e(last)
                || last == "--execute"
                || current.starts_with("--execute=")
                || current.starts_with("-e");
            code.then_some("`mysql -e`")
        }
        _ => None,
    }
}

/// The program a simple command runs (its base name), and the words after it.
fn program<'a>(words: &'a [&'a str]) -> Option<(&'a str, &'a [&'a str])> {
    let mut rest = words;
    let mut wrapper: Option<&str> = None;
    let mut positional = 0_usize; // a wrapper's own operands still to skip (timeout's duration)
    while let [w, after @ ..] = rest {
        let name = base_name(w);
        if is_assignment(w) {
            rest = after;
        } else if WRAPPERS.contains(&name) || name == "timeout" || name == "xargs" {
            wrapper = Some(name);
            positional = usize::from(name == "timeout");
            rest = after;
        } else if let Some(by) = wrapper.filter(|_| w.starts_with('-')) {
            let takes_value = if by == "xargs" {
                XARGS_ARGS.contains(w)
            } else {
                WRAPPER_ARGS.contains(w)
            };
            rest = if takes_value {
                after.get(1..).unwrap_or_default()
            } else {
                after
            };
        } else if let Some(left) = positional.checked_sub(1) {
            positional = left;
            rest = after;
        } else if name == "find" {
            // The command of find's last `-exec` so far (an earlier one ended at its `;`).
            let exec = words.iter().rposition(|a| FIND_EXEC.contains(a))?;
            let (_, after_exec) = words.get(exec..)?.split_first()?;
            return program(after_exec);
        } else {
            return Some((name, after));
        }
    }
    None
}

fn base_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        name.chars()
            .next()
            .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
            && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
    })
}
