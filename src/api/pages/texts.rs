//! The pages' words in Dutch, French and English, and which language a request gets: `?lang=` first
//! (the language links), then `Accept-Language` (by quality), else English.

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Nl,
    Fr,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Nl, Lang::Fr, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Nl => "nl",
            Self::Fr => "fr",
        }
    }

    fn of(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Self::En),
            "nl" => Some(Self::Nl),
            "fr" => Some(Self::Fr),
            _ => None,
        }
    }

    /// `lang` when it names a language of the pages, else the best of `Accept-Language`, else English.
    pub fn negotiate(lang: Option<&str>, accept_language: Option<&str>) -> Self {
        if let Some(lang) = lang.and_then(Self::of) {
            return lang;
        }
        let Some(header) = accept_language else { return Self::En };
        // At most 32 ranges are looked at: a header is short, a hostile one gains nothing.
        let mut best: Option<(f32, Self)> = None;
        for range in header.split(',').take(32) {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)));
            if let (Some(lang), Some(q)) = (Self::of(tag), q) {
                if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                    best = Some((q, lang));
                }
            }
        }
        best.map_or(Self::En, |(_, lang)| lang)
    }
}

/// The text of `key` in `lang` (the key itself when unknown: a missing text shows, it does not fail).
pub fn text(lang: Lang, key: &str) -> &'static str {
    let Some((_, [en, nl, fr])) = TEXTS.iter().find(|(k, _)| *k == key) else {
        return "?";
    };
    match lang {
        Lang::En => en,
        Lang::Nl => nl,
        Lang::Fr => fr,
    }
}

/// (key, [English, Dutch, French]).
pub const TEXTS: &[(&str, [&str; 3])] = &[
    ("title", ["Handover quality", "Kwaliteit van overdrachten", "Qualité des transferts"]),
    ("intro", [
        "How handovers between care organisations went: complete, delivered, answered, and on time.",
        "Hoe overdrachten tussen zorgorganisaties verliepen: volledig, afgeleverd, beantwoord en op tijd.",
        "Comment se sont passés les transferts entre organisations de soins : complets, livrés, répondus et à temps.",
    ]),
    ("filters", ["Filters", "Filters", "Filtres"]),
    ("period-start", ["From", "Van", "Du"]),
    ("period-end", ["To", "Tot en met", "Au"]),
    ("sender", ["Sending organisation", "Verzendende organisatie", "Organisation expéditrice"]),
    ("receiver", ["Receiving organisation", "Ontvangende organisatie", "Organisation destinataire"]),
    ("kind", ["Kind of handover", "Soort overdracht", "Type de transfert"]),
    ("any", ["(all)", "(alle)", "(toutes)"]),
    ("show", ["Show", "Toon", "Afficher"]),
    ("figures", ["Figures", "Cijfers", "Chiffres"]),
    ("figure", ["Figure", "Cijfer", "Indicateur"]),
    ("count", ["Count", "Aantal", "Nombre"]),
    ("share", ["Share", "Aandeel", "Part"]),
    ("submitted", ["Submitted", "Aangeboden", "Soumis"]),
    ("accepted", ["Accepted (complete)", "Geaccepteerd (volledig)", "Acceptés (complets)"]),
    ("refused", ["Refused (incomplete or invalid)", "Geweigerd (onvolledig of ongeldig)", "Refusés (incomplets ou invalides)"]),
    ("accepted-with-warnings", [
        "Accepted with warnings",
        "Geaccepteerd met waarschuwingen",
        "Acceptés avec avertissements",
    ]),
    ("routed", ["To deliver (per receiver)", "Af te leveren (per ontvanger)", "À livrer (par destinataire)"]),
    ("delivered", ["Delivered", "Afgeleverd", "Livrés"]),
    ("answered-accepted", ["Accepted by the receiver", "Geaccepteerd door de ontvanger", "Acceptés par le destinataire"]),
    ("answered-rejected", ["Declined by the receiver", "Afgewezen door de ontvanger", "Refusés par le destinataire"]),
    ("failed", ["Failed", "Mislukt", "Échoués"]),
    ("expired", ["Expired (not delivered in time)", "Verlopen (niet op tijd afgeleverd)", "Expirés (non livrés à temps)"]),
    ("stay-end-known", [
        "Naming the end of the stay",
        "Met einde van het verblijf",
        "Indiquant la fin du séjour",
    ]),
    ("sent-within-24h", [
        "Sent within 24 hours of the end of the stay",
        "Verstuurd binnen 24 uur na einde verblijf",
        "Envoyés dans les 24 heures après la fin du séjour",
    ]),
    ("delivered-stay-end-known", [
        "Deliveries naming the end of the stay",
        "Afleveringen met einde van het verblijf",
        "Livraisons indiquant la fin du séjour",
    ]),
    ("delivered-within-24h", [
        "Delivered within 24 hours of the end of the stay",
        "Afgeleverd binnen 24 uur na einde verblijf",
        "Livrés dans les 24 heures après la fin du séjour",
    ]),
    ("completeness", ["Complete on arrival", "Volledig bij aanbieden", "Complets à l'envoi"]),
    ("delivery", ["Delivered", "Afgeleverd", "Livrés"]),
    ("sent-within-24h-of-stay-end", ["Sent within 24 h", "Verstuurd binnen 24 u", "Envoyés en 24 h"]),
    ("delivered-within-24h-of-stay-end", ["Delivered within 24 h", "Afgeleverd binnen 24 u", "Livrés en 24 h"]),
    ("outcomes", ["What became of the deliveries", "Wat er met de afleveringen gebeurde", "Ce que sont devenues les livraisons"]),
    ("refusals", ["Most frequent reasons for refusal", "Meest voorkomende redenen van weigering", "Motifs de refus les plus fréquents"]),
    ("reason", ["Reason (rule and place)", "Reden (regel en plaats)", "Motif (règle et emplacement)"]),
    ("no-refusals", ["No refusals in this period.", "Geen weigeringen in deze periode.", "Aucun refus pendant cette période."]),
    ("latencies", ["How long it took", "Hoe lang het duurde", "Combien de temps cela a pris"]),
    ("median", ["Median", "Mediaan", "Médiane"]),
    ("p90", ["90% within", "90% binnen", "90 % en moins de"]),
    ("measured", ["Measured", "Gemeten", "Mesurés"]),
    ("delivery-latency", ["From acceptance to delivery", "Van acceptatie tot aflevering", "De l'acceptation à la livraison"]),
    ("answer-latency", ["From acceptance to the receiver's answer", "Van acceptatie tot antwoord van de ontvanger", "De l'acceptation à la réponse du destinataire"]),
    ("sent-after-stay-end", ["From the end of the stay to sending", "Van einde verblijf tot verzending", "De la fin du séjour à l'envoi"]),
    ("delivered-after-stay-end", ["From the end of the stay to delivery", "Van einde verblijf tot aflevering", "De la fin du séjour à la livraison"]),
    ("none", ["none", "geen", "aucune"]),
    ("at-most", ["at most", "hoogstens", "au plus"]),
    ("more-than", ["more than", "meer dan", "plus de"]),
    ("language", ["Language", "Taal", "Langue"]),
    ("refused-page", ["This cannot be shown", "Dit kan niet getoond worden", "Ceci ne peut pas être affiché"]),
    ("login-title", ["Sign in", "Aanmelden", "Se connecter"]),
    ("login-token", ["Your access token", "Uw toegangstoken", "Votre jeton d'accès"]),
    ("login-submit", ["Sign in", "Aanmelden", "Se connecter"]),
    ("login-help", [
        "Sign in with the access token your organisation received for the broker, or use your organisation's client certificate.",
        "Meld u aan met het toegangstoken dat uw organisatie voor de broker kreeg, of gebruik het clientcertificaat van uw organisatie.",
        "Connectez-vous avec le jeton d'accès reçu par votre organisation pour le broker, ou utilisez le certificat client de votre organisation.",
    ]),
    ("login-failed", [
        "This token is not valid (unknown, expired or revoked).",
        "Dit token is niet geldig (onbekend, verlopen of ingetrokken).",
        "Ce jeton n'est pas valable (inconnu, expiré ou révoqué).",
    ]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_is_there_in_every_language_and_keys_are_unique() {
        for (i, (key, texts)) in TEXTS.iter().enumerate() {
            assert!(texts.iter().all(|t| !t.trim().is_empty()), "{key}");
            assert!(TEXTS[i + 1..].iter().all(|(k, _)| k != key), "{key} twice");
        }
    }

    #[test]
    fn the_language_follows_the_link_then_the_browser() {
        assert_eq!(Lang::negotiate(Some("fr"), Some("nl")), Lang::Fr);
        assert_eq!(Lang::negotiate(None, Some("de-DE, nl-BE;q=0.8, fr;q=0.5")), Lang::Nl);
        assert_eq!(Lang::negotiate(None, Some("fr-BE;q=0.9, en;q=0.4")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("xx"), Some("nl;q=abc, *")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some(&"x,".repeat(10_000))), Lang::En);
        assert_eq!(Lang::negotiate(None, None), Lang::En);
    }
}
