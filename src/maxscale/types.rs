//! JSON:API envelopes shared by every MaxScale resource, and the lenient field
//! decoders that keep one odd field from failing a whole document.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// `links` objects: `{"self": "...", "related": "..."}`.
pub type Links = BTreeMap<String, String>;

/// `relationships` of a resource, keyed by kind (`monitors`, `services`, `servers`).
pub type Relationships = BTreeMap<String, Relationship>;

/// Decode a field as `T`; anything that does not fit (wrong type, null) becomes `None`.
pub(crate) fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

/// Like [`lenient`], falling back to `T::default()`.
pub(crate) fn lenient_or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    Ok(lenient(d)?.unwrap_or_default())
}

/// `{"data": ..., "links": {...}}`: one resource or a collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Document<T> {
    pub data: T,
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub links: Links,
}

/// One entry of a relationship's `data`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRef {
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub id: String,
    #[serde(rename = "type", default, deserialize_with = "lenient_or_default")]
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Relationship {
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub data: Vec<ResourceRef>,
    #[serde(
        default,
        deserialize_with = "lenient_or_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub links: Links,
}

/// `{"detail": "..."}` inside `errors`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    #[serde(default, deserialize_with = "lenient_or_default")]
    pub detail: String,
}

impl ErrorDetail {
    pub fn new(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
        }
    }
}

/// `meta` of a module command answer: a message (`"switchover completed successfully."`)
/// or `{"errors": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Meta {
    Message(String),
    Errors { errors: Vec<ErrorDetail> },
    Other(Value),
}

/// The body of an error answer, and of module command answers (which carry `meta`).
/// Top-level `errors` (unknown server, bad state, bad credentials) and `meta.errors`
/// (refused switchover, fetch-cmd-result) are both kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseBody {
    #[serde(
        default,
        deserialize_with = "lenient_or_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub links: Links,
    #[serde(
        default,
        deserialize_with = "lenient_or_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub errors: Vec<ErrorDetail>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub meta: Option<Meta>,
}

impl ResponseBody {
    /// Top-level `errors` body, as for an unknown server (sample 41).
    pub fn errors<I, S>(details: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            errors: details.into_iter().map(ErrorDetail::new).collect(),
            ..Self::default()
        }
    }

    /// `{"links": {"self": url}, "meta": {"errors": [...]}}`, as for a refused switchover (sample 40).
    pub fn meta_errors<I, S>(self_link: impl Into<String>, details: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            links: Links::from([("self".to_owned(), self_link.into())]),
            errors: Vec::new(),
            meta: Some(Meta::Errors {
                errors: details.into_iter().map(ErrorDetail::new).collect(),
            }),
        }
    }

    /// `{"links": {"self": url}, "meta": "message"}`, as for a finished command (sample 32).
    pub fn meta_message(self_link: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            links: Links::from([("self".to_owned(), self_link.into())]),
            errors: Vec::new(),
            meta: Some(Meta::Message(message.into())),
        }
    }

    /// Every `detail`, top-level `errors` first, then `meta.errors`, verbatim.
    pub fn messages(&self) -> Vec<String> {
        let mut out: Vec<String> = self.errors.iter().map(|e| e.detail.clone()).collect();
        if let Some(Meta::Errors { errors }) = &self.meta {
            out.extend(errors.iter().map(|e| e.detail.clone()));
        }
        out
    }
}
