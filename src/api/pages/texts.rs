//! The pages' words: `locales/{en,nl,fr}/pages.ftl` (ids `page-<key>`), through [`crate::i18n`].

pub use crate::i18n::Language as Lang;

/// The page text `key` in `lang` (English when a language lacks it; the key itself when none has it).
pub fn text(lang: Lang, key: &str) -> String {
    text_with(lang, key, &[])
}

/// [`text`] with named arguments (`{ $name }` in the catalogue).
pub fn text_with(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    crate::i18n::text_or_english(lang, &format!("page-{key}"), args)
}

/// The page text `key` in `lang` when a catalogue has it (care-type names: a code the catalogues do
/// not know yet shows as the code).
pub fn text_if_any(lang: Lang, key: &str) -> Option<String> {
    let id = format!("page-{key}");
    crate::i18n::text(lang, &id, &[]).or_else(|| crate::i18n::text(Lang::En, &id, &[]))
}
