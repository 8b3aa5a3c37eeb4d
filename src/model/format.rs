//! FHIR's two wire formats, as media types name them.

/// The format of a FHIR resource on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    #[default]
    Json,
    Xml,
}

impl Format {
    /// The FHIR media type (what the broker writes in `Content-Type`).
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/fhir+json",
            Self::Xml => "application/fhir+xml",
        }
    }

    /// The name stored in the database and shown to operators.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Xml => "xml",
        }
    }

    /// A stored name ([`Format::as_str`]).
    pub fn from_stored(name: &str) -> Option<Self> {
        match name {
            "json" => Some(Self::Json),
            "xml" => Some(Self::Xml),
            _ => None,
        }
    }

    /// The format a media type's essence names (`application/fhir+xml`, `application/xml`, `text/xml`,
    /// and the JSON ones), ignoring case and parameters; `None` for anything else.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        let essence = media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/fhir+json" | "application/json" | "application/json+fhir" => Some(Self::Json),
            "application/fhir+xml" | "application/xml" | "text/xml" | "application/xml+fhir" => Some(Self::Xml),
            _ => None,
        }
    }

    /// FHIR's `_format` parameter: a media type or the short forms `json` and `xml`.
    pub fn from_format_parameter(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "xml" => Some(Self::Xml),
            other => Self::from_media_type(other),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn media_types_and_the_format_parameter_name_formats() {
        assert_eq!(Format::from_media_type("application/fhir+xml; charset=UTF-8"), Some(Format::Xml));
        assert_eq!(Format::from_media_type("Text/XML"), Some(Format::Xml));
        assert_eq!(Format::from_media_type("application/json"), Some(Format::Json));
        assert_eq!(Format::from_media_type("text/html"), None);
        assert_eq!(Format::from_format_parameter("xml"), Some(Format::Xml));
        assert_eq!(Format::from_format_parameter("application/fhir+json"), Some(Format::Json));
        assert_eq!(Format::from_format_parameter("turtle"), None);
        for format in [Format::Json, Format::Xml] {
            assert_eq!(Format::from_stored(format.as_str()), Some(format));
            assert_eq!(Format::from_media_type(format.media_type()), Some(format));
        }
    }
}
