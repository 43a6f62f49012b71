use super::super::Template;
use super::*;

fn spots(source: &str) -> Result<Vec<Spot>, Why> {
    let t = Template::parse(source).expect("parses");
    super::spots(&t.parts).map_err(|u| u.why)
}

const WORD: Spot = Spot::Word { bare_ok: true };
const DQ: Spot = Spot::DoubleQuoted;

#[test]
fn words_and_double_quotes() {
    let cases: &[(&str, &[Spot])] = &[
        ("mkdir -p {{ vars.d }}", &[WORD]),
        ("mysql -p{{ secret.pw }} -e 'SELECT 1'", &[WORD]),
        ("echo \"{{ vars.x }}\" '{' x{{ vars.y }}y", &[DQ, WORD]),
        (
            "echo \"a $(printf %s {{ vars.x }} \"{{ vars.y }}\") b\"",
            &[WORD, DQ],
        ),
        ("echo \\'{{ vars.x }}", &[WORD]),
        ("echo \"\\\\{{ vars.x }}\"", &[DQ]),
        ("a=1 # no reference here", &[]),
        ("cp a {{ vars.d }}/ # if exists", &[WORD]),
        ("echo a#{{ vars.x }}", &[WORD]),
        ("echo ~{{ vars.user }}", &[Spot::Word { bare_ok: false }]),
        (
            "echo $HOME{{ vars.d }} {{ vars.d }}",
            &[Spot::Word { bare_ok: false }, WORD],
        ),
        ("echo \"${HOME}{{ vars.d }}\" \"$1{{ vars.d }}\"", &[DQ, DQ]),
        ("cat <<'EOF'\nbody\nEOF\necho {{ vars.x }}", &[WORD]),
        ("cat <<-EOF\n\tbody\n\tEOF\necho {{ vars.x }}", &[WORD]),
        ("cat <<<{{ vars.x }}", &[WORD]),
        ("echo ${HOME} $((1 + 2)) {{ vars.x }}", &[WORD]),
        ("case $x in a) echo {{ vars.x }};; esac", &[WORD]),
        ("echo $(echo ')') {{ vars.x }}", &[WORD]),
        ("sh -c 'ls \"$1\"' sh {{ vars.d }}", &[WORD]),
        (
            "sudo -u mysql bash -ec 'ls \"$1\"' sh \"{{ vars.d }}\"",
            &[DQ],
        ),
        ("mysql -u root -p{{ secret.pw }} -e 'SELECT 1'", &[WORD]),
        ("su - mysql -c 'ls' {{ vars.d }}", &[WORD]),
        ("echo eval {{ vars.d }}; sh {{ vars.d }}", &[WORD, WORD]),
        ("find {{ vars.d }} -name '*.cnf' -exec ls {} +", &[WORD]),
        ("xargs -n 1 sh -c 'ls \"$1\"' sh {{ vars.d }}", &[WORD]),
    ];
    for (source, want) in cases {
        assert_eq!(spots(source).as_deref(), Ok(*want), "{source}");
    }
}

#[test]
fn unsafe_places_are_refused() {
    let cases = [
        ("echo '{{ vars.x }}'", Why::SingleQuotes),
        ("sh -c 'ls {{ vars.d }}'", Why::SingleQuotes),
        ("echo `ls {{ vars.d }}`", Why::Backticks),
        ("echo \"`ls \"{{ vars.d }}\"`\"", Why::Backticks),
        ("echo ${X:-{{ vars.d }}}", Why::Parameter),
        ("echo \"${X:-{{ vars.d }}}\"", Why::Parameter),
        ("echo $(( {{ vars.n }} + 1 ))", Why::Arithmetic),
        ("(( {{ vars.n }} > 1 ))", Why::Arithmetic),
        ("cat <<EOF\n{{ vars.x }}\nEOF", Why::HereDocument),
        (
            "cat <<'EOF' >f; echo\nx {{ vars.x }}\nEOF",
            Why::HereDocument,
        ),
        ("cat <<{{ vars.x }}\nEOF", Why::HereDelimiter),
        ("ls # {{ vars.x }}", Why::Comment),
        ("# {{ vars.x }}\nls", Why::Comment),
        ("echo \\{{ vars.x }}", Why::Backslash),
        ("echo \"\\{{ vars.x }}\"", Why::Backslash),
        ("echo ${{ vars.x }}", Why::Dollar),
        ("echo \"${{ vars.x }}\"", Why::Dollar),
        ("echo \"$HOME{{ vars.x }}\"", Why::AfterName),
        ("echo $'a' {{ vars.x }}", Why::Unsure("`$'…'`")),
        ("eval \"echo {{ vars.x }}\"", Why::Reread("`eval`")),
        ("sh -c \"ls {{ vars.d }}\"", Why::Reread("`sh -c`")),
        (
            "x=1 sudo -u mysql /bin/bash -o pipefail -ec \"ls {{ vars.d }}\"",
            Why::Reread("`sh -c`"),
        ),
        (
            "timeout -s KILL 10 sh -c \"ls {{ vars.d }}\"",
            Why::Reread("`sh -c`"),
        ),
        ("out=$(sh -c \"ls {{ vars.d }}\")", Why::Reread("`sh -c`")),
        ("su - mysql -c \"ls {{ vars.d }}\"", Why::Reread("`su -c`")),
        ("bash -c \"ls {{ vars.d }}\"", Why::Reread("`sh -c`")),
        (
            "find /tmp -name x -exec sh -c \"ls {{ vars.d }}\" \\;",
            Why::Reread("`sh -c`"),
        ),
        (
            "find . -execdir /bin/bash -ec \"rm {{ vars.d }}\" +",
            Why::Reread("`sh -c`"),
        ),
        (
            "ls | xargs -I{} -n 1 sh -c \"cp {} {{ vars.d }}\"",
            Why::Reread("`sh -c`"),
        ),
        (
            "xargs -0 bash -c \"ls {{ vars.d }}\"",
            Why::Reread("`sh -c`"),
        ),
        ("ssh db2 \"ls {{ vars.d }}\"", Why::Reread("`ssh`")),
        ("ssh db2 ls {{ vars.d }}", Why::Reread("`ssh`")),
        ("watch ls {{ vars.d }}", Why::Reread("`watch`")),
        (
            "mysql -Ne \"SELECT '{{ vars.x }}'\"",
            Why::Reread("`mysql -e`"),
        ),
        (
            "mariadb --execute=\"SELECT '{{ vars.x }}'\"",
            Why::Reread("`mysql -e`"),
        ),
        (
            "x=$(case a in a) echo;; esac) {{ vars.x }}",
            Why::Unsure("`case` inside `$( … )`"),
        ),
    ];
    for (source, why) in cases {
        assert_eq!(spots(source), Err(why), "{source}");
    }
}

#[test]
fn the_first_unsafe_reference_is_named() {
    let t = Template::parse("echo {{ vars.a }} '{{ vars.b }}' '{{ vars.c }}'").expect("parses");
    let e = t.shell_spots().expect_err("refused");
    assert_eq!(&t.source[e.range.clone()], "{{ vars.b }}");
    assert!(
        e.message
            .starts_with("`{{ vars.b }}` is inside single quotes")
    );
    assert!(
        e.help.contains("sh -c '… \"$1\"' sh {{ vars.b }}"),
        "{}",
        e.help
    );
}

#[test]
fn deep_nesting_is_bounded() {
    let deep = format!("{}{{{{ vars.x }}}}{}", "$(".repeat(200), ")".repeat(200));
    assert!(matches!(spots(&deep), Err(Why::Unsure(_))));
    let deep_no_ref = format!("{}x{}", "$(".repeat(200), ")".repeat(200));
    assert_eq!(spots(&deep_no_ref), Ok(vec![]));
}

#[test]
fn words_are_bare_only_when_inert() {
    assert_eq!(word("/root/mariadb_backup"), "/root/mariadb_backup");
    assert_eq!(word("10.11.19"), "10.11.19");
    for quoted in [
        "server1", "3306", "if", "PATH", "", "a b", "a=b", "~root", "x,y",
    ] {
        assert_eq!(word(quoted), format!("'{quoted}'"));
    }
    assert_eq!(word("it's"), r"'it'\''s'");
    assert_eq!(in_double_quotes(r#"a\"$`b'"#), r#"a\\\"\$\`b'"#);
    assert!(write("a\0b", WORD).is_err());
    assert_eq!(
        write("root", Spot::Word { bare_ok: false }),
        Ok("'root'".into())
    );
}
