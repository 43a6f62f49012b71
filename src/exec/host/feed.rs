//! The script goes to `sh -s` on its standard input, never in argv (issue 11): `ps` on this
//! machine and on the host shows `sh -s`, not the script and the secrets in it.

use std::io;

use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The script as `sh -s` reads it: one `{ … }` group, so that the shell has read and parsed
/// all of it before any of it runs, and the commands in it read `/dev/null` (as they did
/// under `sh -c`), not the rest of the script.
pub(super) fn framed(script: &str) -> String {
    format!("{{\n{script}\n}} </dev/null\n")
}

/// Writes the framed script to `stdin` and closes it. A shell that ended before reading all
/// of it (stopped, or a syntax error) is no error here: its exit status tells what happened.
pub(super) async fn feed<W: AsyncWrite + Unpin>(stdin: Option<W>, script: &str) -> io::Result<()> {
    let Some(mut stdin) = stdin else {
        return Ok(());
    };
    let written = async {
        stdin.write_all(framed(script).as_bytes()).await?;
        stdin.shutdown().await
    };
    match written.await {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::{Command, Stdio};

    use super::framed;

    fn sh_s(script: &str) -> (String, Option<i32>) {
        let mut child = Command::new("sh")
            .arg("-s")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn sh");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(framed(script).as_bytes()).expect("write");
        drop(stdin);
        let out = child.wait_with_output().expect("wait");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            out.status.code(),
        )
    }

    #[test]
    fn commands_read_dev_null_not_the_rest_of_the_script() {
        let (out, code) = sh_s("cat; echo after\nread x || echo eof\nexit 4");
        assert_eq!((out.as_str(), code), ("after\neof\n", Some(4)));
    }

    #[test]
    fn here_documents_comments_and_trailing_text_survive_the_frame() {
        let script = "cat <<EOF\n{ } not a group\nEOF\necho $0 # comment";
        assert_eq!(sh_s(script), ("{ } not a group\nsh\n".into(), Some(0)));
    }
}
