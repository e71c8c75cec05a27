//! Form bodies (`application/x-www-form-urlencoded`), as function URLs deliver them.

/// The fields of a submitted form. A field sent twice keeps its first value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form(Vec<(String, String)>);

/// The most fields a form may have; portal forms have at most a dozen or so.
const MAX_FIELDS: usize = 64;

impl Form {
    /// Parses a body; `None` when it is not valid UTF-8 or not a form.
    pub fn parse(body: &[u8]) -> Option<Form> {
        let text = std::str::from_utf8(body).ok()?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_str(text).ok()?;
        (fields.len() <= MAX_FIELDS).then_some(Form(fields))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The form as a typed struct (a page's own form type, `#[serde(default)]` so a missing field
    /// is empty): each field's first value, as [`Form::get`] reads it.
    pub fn decode<T: serde::de::DeserializeOwned + Default>(&self) -> T {
        let mut seen = std::collections::HashSet::new();
        let first: Vec<(&str, &str)> = self.fields().filter(|(n, _)| seen.insert(*n)).collect();
        serde_urlencoded::to_string(&first).ok().and_then(|text| serde_urlencoded::from_str(&text).ok()).unwrap_or_default()
    }

    /// Every field, in the order sent.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// A field's value, or "" when absent.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    #[serde(default)]
    struct Typed {
        email: String,
        phone_mobile: String,
    }

    #[test]
    fn decodes_a_typed_form_with_each_fields_first_value_and_missing_ones_empty() {
        let form = Form::parse(b"email=maria%40example.com&email=second&other=x").unwrap();
        assert_eq!(form.decode::<Typed>(), Typed { email: "maria@example.com".into(), phone_mobile: String::new() });
        assert_eq!(Form::default().decode::<Typed>(), Typed::default());
    }

    #[test]
    fn parses_encoded_fields() {
        let form = Form::parse(b"email=maria%40example.com&csrf_token=a+b&email=second").unwrap();
        assert_eq!(form.get("email"), Some("maria@example.com"));
        assert_eq!(form.text("csrf_token"), "a b");
        assert_eq!(form.text("missing"), "");
    }

    #[test]
    fn refuses_invalid_utf8() {
        assert_eq!(Form::parse(&[0x66, 0x3d, 0xff, 0xfe]), None);
    }

    proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Form::parse(&body);
        }
    }
}
