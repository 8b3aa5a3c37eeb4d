//! The pages' words: `locales/{en,nl,fr}/pages.ftl` (ids `page-<key>`), through [`crate::i18n`].

pub use crate::i18n::Language as Lang;

/// The page text `key` in `lang` (English when a language lacks it; the key itself when none has it).
pub fn text(lang: Lang, key: &str) -> String {
    crate::i18n::text_or_english(lang, &format!("page-{key}"), &[])
}
