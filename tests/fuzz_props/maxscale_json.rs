//! MaxScale JSON: arbitrary JSON values, and the real samples with fields removed, retyped
//! or cut short, decode as each document flightdeck reads to a value or an error.

use std::path::Path;
use std::sync::LazyLock;

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::checks;
use crate::{CASES, config};

/// Every body a real MaxScale 24.02.3 answered, as shipped with the fuzz seeds.
static SAMPLES: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/maxscale_json");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("fuzz/seeds/maxscale_json is in the tree")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| serde_json::from_slice(&std::fs::read(p).ok()?).ok())
        .collect()
});

/// Names MaxScale documents use, so that generated objects reach the typed fields.
const KEYS: [&str; 24] = [
    "data",
    "links",
    "self",
    "id",
    "type",
    "attributes",
    "state",
    "parameters",
    "address",
    "port",
    "statistics",
    "relationships",
    "monitors",
    "servers",
    "monitor_diagnostics",
    "server_info",
    "master",
    "gtid_binlog_pos",
    "slave_connections",
    "meta",
    "errors",
    "detail",
    "read_only",
    "server_id",
];

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            any::<String>(),
            Just("Master, Running".to_owned()),
            Just("0-1-42".to_owned()),
            Just("No manual command results are available".to_owned()),
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 96, 6, |inner| {
        let key = prop_oneof![
            prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned),
            any::<String>()
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Where in a document a change lands: the n-th object field, in document order.
fn fields(v: &Value, out: &mut Vec<Vec<String>>, path: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            path.push(k.clone());
            out.push(path.clone());
            fields(x, out, path);
            path.pop();
        }),
        Value::Array(xs) => xs.iter().enumerate().for_each(|(i, x)| {
            path.push(format!("#{i}"));
            fields(x, out, path);
            path.pop();
        }),
        _ => {}
    }
}

fn parent<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Map<String, Value>> {
    let (last, init) = path.split_last()?;
    let mut at = v;
    for step in init {
        at = match step.strip_prefix('#') {
            Some(i) => at.get_mut(i.parse::<usize>().ok()?)?,
            None => at.get_mut(step)?,
        };
    }
    let map = at.as_object_mut()?;
    map.contains_key(last).then_some(map)
}

/// Removes the `field`-th field of `doc` (modulo their number), or gives it another value.
fn damage(doc: &mut Value, field: usize, with: Option<Value>) {
    let mut all = Vec::new();
    fields(doc, &mut all, &mut Vec::new());
    let Some(path) = all.get(field % all.len().max(1)) else {
        return;
    };
    if let (Some(map), Some(last)) = (parent(doc, path), path.last()) {
        match with {
            Some(v) => drop(map.insert(last.clone(), v)),
            None => drop(map.remove(last)),
        }
    }
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn any_json_value_decodes_or_errs(v in any_json()) {
        let bytes = serde_json::to_vec(&v).expect("a Value serializes");
        prop_assert_eq!(checks::maxscale_json(&bytes), Ok(()));
    }

    #[test]
    fn samples_with_fields_removed_or_retyped_decode_or_err(
        sample in any::<usize>(),
        edits in prop::collection::vec((any::<usize>(), prop::option::of(any_json())), 1..4),
    ) {
        let mut doc = SAMPLES[sample % SAMPLES.len()].clone();
        for (field, with) in edits {
            damage(&mut doc, field, with);
        }
        let bytes = serde_json::to_vec(&doc).expect("a Value serializes");
        prop_assert_eq!(checks::maxscale_json(&bytes), Ok(()));
    }

    #[test]
    fn any_bytes_and_cut_samples_decode_or_err(
        bytes in any::<Vec<u8>>(),
        sample in any::<usize>(),
        cut in any::<usize>(),
    ) {
        prop_assert_eq!(checks::maxscale_json(&bytes), Ok(()));
        let whole = serde_json::to_vec(&SAMPLES[sample % SAMPLES.len()]).expect("serializes");
        prop_assert_eq!(checks::maxscale_json(&whole[..cut % (whole.len() + 1)]), Ok(()));
    }
}

#[test]
fn every_sample_decodes_and_reads_back() {
    // 85 bodies, of which 15 are empty (204 answers).
    assert!(SAMPLES.len() >= 70, "only {} samples", SAMPLES.len());
    for s in SAMPLES.iter() {
        let bytes = serde_json::to_vec(s).expect("serializes");
        assert_eq!(checks::maxscale_json(&bytes), Ok(()));
    }
}
