//! Roles with several members, as the inventory resolves them: `candidate` must be one
//! server, `replicas` at least one. Each is refused once, at its first use.

use std::ops::Range;

use super::{CANDIDATE, Validator};

impl Validator<'_> {
    /// `candidate` must name one server of the inventory: refused at its first use when
    /// it does not, naming the replicas and how to choose.
    pub(super) fn candidate(&mut self, span: Range<usize>) {
        let Some(inv) = self.inventory else { return };
        let Err(replicas) = inv.candidate() else {
            return;
        };
        if !self.reported.insert(CANDIDATE) {
            return;
        }
        let (message, help) = if replicas.is_empty() {
            (
                format!(
                    "`candidate` is the replica a switchover promotes, and inventory {} has no replica",
                    inv.file.path.display()
                ),
                "add a [[server]] with role = \"replica\"".to_string(),
            )
        } else {
            let first = replicas.first().copied().unwrap_or("server2");
            (
                format!(
                    "`candidate` is ambiguous with this inventory ({} are replicas): this runbook \
                     promotes one of them and the inventory does not say which",
                    replicas.join(", ")
                ),
                format!(
                    "name it in the inventory: [roles] candidate = \"{first}\" (or, for plan and run, \
                     --candidate {first})"
                ),
            )
        };
        self.error(span, message, Some(help));
    }

    /// `replicas` must name at least one server: a step or condition over no replica
    /// would check nothing.
    pub(super) fn some_replicas(&mut self, span: Range<usize>) {
        let Some(inv) = self.inventory else { return };
        if !inv.initial_replicas().is_empty() || !self.reported.insert("replicas") {
            return;
        }
        self.error(
            span,
            format!(
                "`replicas` names no server: inventory {} has no replica",
                inv.file.path.display()
            ),
            Some("add a [[server]] with role = \"replica\"".into()),
        );
    }
}
