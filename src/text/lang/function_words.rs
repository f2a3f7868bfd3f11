//! The function words that tell a Latin-script language from the others: a table,
//! kept apart from the rules that read it.

/// Words that single out the languages of Latin script the markers and `whichlang`
/// leave: Hungarian without ő/ű, Uzbek without its apostrophe letters.
pub(super) const LISTED: [(&str, &[&str]); 2] = [
    (
        "hu",
        &[
            "az", "hogy", "és", "egy", "szerint", "miután", "nem", "meg", "ezen", "több", "már",
            "még", "után", "között", "mert", "volt", "lesz", "kell", "vagy", "pedig",
        ],
    ),
    (
        "uz",
        &[
            "va", "bilan", "uchun", "haqida", "qildi", "etdi", "yana", "deb", "esa", "edi", "kuni",
            "yil", "shu", "ham", "bu", "xabar", "berdi", "emas",
        ],
    ),
];

/// Common function words of the languages `whichlang` names, lower-cased.
pub(super) fn function_words(code: &str) -> &'static [&'static str] {
    match code {
        "en" => &[
            "the", "of", "and", "to", "in", "a", "is", "that", "for", "on", "with", "was", "as",
            "by", "at", "it", "from", "be", "this", "are", "have", "has", "will", "not", "an",
            "after", "said", "their", "were", "his", "who", "new", "would", "more", "i", "you",
            "we", "they", "he", "she", "my", "your", "our", "me", "us", "them", "what", "how",
            "why", "when", "where", "do", "does", "did", "don", "can", "could", "should", "just",
            "so", "but", "or", "if", "no", "there", "here", "all", "some", "too", "also", "any",
            "been", "had", "about", "which", "than", "then", "now", "up", "out", "get", "got",
            "one", "like", "very", "much", "only", "into", "over", "these", "those", "its",
        ],
        "de" => &[
            "der", "die", "das", "und", "in", "zu", "den", "von", "mit", "ist", "des", "sich",
            "im", "dem", "nicht", "ein", "eine", "auf", "für", "auch", "es", "an", "werden", "aus",
            "er", "sie", "nach", "bei", "um", "am", "sind", "noch", "wie", "dass",
        ],
        "fr" => &[
            "le", "la", "les", "de", "des", "du", "et", "en", "un", "une", "est", "que", "qui",
            "dans", "pour", "pas", "sur", "au", "aux", "par", "avec", "il", "elle", "a", "ce",
            "se", "ne", "son", "sa", "ont", "été", "plus", "selon", "l", "d",
        ],
        "es" => &[
            "el", "la", "los", "las", "de", "del", "y", "en", "que", "a", "un", "una", "por",
            "con", "para", "se", "es", "al", "lo", "su", "sus", "no", "como", "más", "fue", "ha",
            "según", "este", "esta", "entre",
        ],
        "pt" => &[
            "o", "a", "os", "as", "de", "do", "da", "dos", "das", "e", "em", "no", "na", "um",
            "uma", "que", "para", "com", "por", "se", "foi", "ao", "não", "mais", "seu", "sua",
            "segundo", "é", "pelo", "pela",
        ],
        "it" => &[
            "il", "la", "le", "lo", "gli", "i", "di", "del", "della", "e", "è", "in", "un", "una",
            "che", "per", "con", "non", "si", "da", "al", "alla", "sono", "ha", "dei", "nel",
            "nella", "secondo", "anche", "più",
        ],
        "nl" => &[
            "de", "het", "een", "en", "van", "in", "is", "dat", "op", "te", "voor", "met", "zijn",
            "niet", "aan", "er", "om", "ook", "als", "bij", "door", "naar", "heeft", "werd",
            "wordt", "die", "dit", "nog", "volgens", "zal",
        ],
        "sv" => &[
            "och", "i", "att", "det", "som", "en", "på", "är", "av", "för", "med", "till", "den",
            "har", "de", "inte", "om", "ett", "var", "men", "från", "sig", "efter", "vid", "under",
            "hade", "kommer", "enligt",
        ],
        "tr" => &[
            "ve", "bir", "bu", "da", "de", "için", "ile", "olarak", "çok", "daha", "en", "gibi",
            "sonra", "kadar", "ancak", "ama", "olan", "göre", "her", "ne", "o", "şu", "mi",
        ],
        "vi" => &[
            "và", "của", "là", "có", "các", "những", "được", "cho", "trong", "một", "không",
            "người", "với", "đã", "này", "theo", "khi", "về", "tại", "đến",
        ],
        _ => &[],
    }
}
