//! Which client connections hold READ_ONLY ADMIN (or SUPER, which includes it before
//! MariaDB 10.11): the ones mariadbmon kicks off the old primary at a switchover, then
//! blocking writes for another 500 ms. Shared by preflight (to warn) and the lab's
//! endpoint (to imitate the kick).

use super::knowledge::version;

/// READ_ONLY ADMIN and SUPER in `mysql.global_priv`'s `access` bit mask (the server's
/// `privilege.h`).
const READ_ONLY_ADMIN_ACL: u64 = 1 << 33;
const SUPER_ACL: u64 = 1 << 15;

/// `(ID, USER)` of every such connection on a server of `server_version`, but the one
/// asking, system threads, binlog dumps and `exclude_user`'s (a monitor's own user).
pub fn query(server_version: &str, exclude_user: &str) -> String {
    let v = version(server_version).unwrap_or((0, 0));
    let admins = if v >= (10, 4) {
        let mask = if v >= (10, 11) {
            READ_ONLY_ADMIN_ACL
        } else {
            READ_ONLY_ADMIN_ACL | SUPER_ACL
        };
        format!(
            "SELECT User FROM mysql.global_priv \
             WHERE CAST(JSON_VALUE(Priv, '$.access') AS UNSIGNED) & {mask} <> 0"
        )
    } else {
        "SELECT User FROM mysql.user WHERE Super_priv = 'Y'".to_owned()
    };
    format!(
        "SELECT DISTINCT P.ID, P.USER FROM information_schema.PROCESSLIST AS P \
         JOIN ({admins}) AS U ON U.User = P.USER \
         WHERE P.ID <> CONNECTION_ID() AND P.USER NOT IN ('{}', 'system user') \
         AND P.COMMAND NOT LIKE 'Binlog Dump%'",
        quote(exclude_user)
    )
}

/// A value for inside single quotes in SQL.
pub fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mask_follows_the_super_split_and_names_are_quoted() {
        let q = query("10.11.19-MariaDB", "mon'itor");
        assert!(q.contains(&format!("& {} <> 0", 1u64 << 33)), "{q}");
        assert!(q.contains("'mon\\'itor'"), "{q}");
        let q = query("10.5.29-MariaDB", "monitor");
        assert!(
            q.contains(&format!("& {} <> 0", (1u64 << 33) | (1 << 15))),
            "{q}"
        );
        assert!(query("10.3.39", "m").contains("Super_priv = 'Y'"));
    }
}
