"""Languages: ISO 639-1 codes, English names and native names, and a forgiving resolver.

Pure Python. Targets can be anything an LLM translates well; which spoken languages each speech
model hears is in ``app.core.catalog``. ``language_name`` is the one lookup for showing a code.
"""
from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass

from app.core.errors import ConfigError


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1 (or a BCP-47 tag such as zh-TW)
    name: str  # English name, used in the translation prompt
    native: str  # the name in the language itself, shown in the picker

    def label(self) -> str:
        return self.name if self.native == self.name else f"{self.name} — {self.native}"


LANGUAGES: tuple[Language, ...] = (
    Language("ar", "Arabic", "العربية"),
    Language("bg", "Bulgarian", "Български"),
    Language("bn", "Bengali", "বাংলা"),
    Language("ca", "Catalan", "Català"),
    Language("cs", "Czech", "Čeština"),
    Language("cy", "Welsh", "Cymraeg"),
    Language("da", "Danish", "Dansk"),
    Language("de", "German", "Deutsch"),
    Language("el", "Greek", "Ελληνικά"),
    Language("en", "English", "English"),
    Language("es", "Spanish", "Español"),
    Language("et", "Estonian", "Eesti"),
    Language("eu", "Basque", "Euskara"),
    Language("fa", "Persian", "فارسی"),
    Language("fi", "Finnish", "Suomi"),
    Language("fil", "Filipino", "Filipino"),
    Language("fr", "French", "Français"),
    Language("ga", "Irish", "Gaeilge"),
    Language("gl", "Galician", "Galego"),
    Language("gu", "Gujarati", "ગુજરાતી"),
    Language("he", "Hebrew", "עברית"),
    Language("hi", "Hindi", "हिन्दी"),
    Language("hr", "Croatian", "Hrvatski"),
    Language("hu", "Hungarian", "Magyar"),
    Language("id", "Indonesian", "Bahasa Indonesia"),
    Language("is", "Icelandic", "Íslenska"),
    Language("it", "Italian", "Italiano"),
    Language("ja", "Japanese", "日本語"),
    Language("kn", "Kannada", "ಕನ್ನಡ"),
    Language("ko", "Korean", "한국어"),
    Language("lt", "Lithuanian", "Lietuvių"),
    Language("lv", "Latvian", "Latviešu"),
    Language("ml", "Malayalam", "മലയാളം"),
    Language("mr", "Marathi", "मराठी"),
    Language("ms", "Malay", "Bahasa Melayu"),
    Language("nl", "Dutch", "Nederlands"),
    Language("no", "Norwegian", "Norsk"),
    Language("pa", "Punjabi", "ਪੰਜਾਬੀ"),
    Language("pl", "Polish", "Polski"),
    Language("pt", "Portuguese", "Português"),
    Language("pt-BR", "Brazilian Portuguese", "Português do Brasil"),
    Language("ro", "Romanian", "Română"),
    Language("ru", "Russian", "Русский"),
    Language("sk", "Slovak", "Slovenčina"),
    Language("sl", "Slovenian", "Slovenščina"),
    Language("sr", "Serbian", "Српски"),
    Language("sv", "Swedish", "Svenska"),
    Language("sw", "Swahili", "Kiswahili"),
    Language("ta", "Tamil", "தமிழ்"),
    Language("te", "Telugu", "తెలుగు"),
    Language("th", "Thai", "ไทย"),
    Language("tr", "Turkish", "Türkçe"),
    Language("uk", "Ukrainian", "Українська"),
    Language("ur", "Urdu", "اردو"),
    Language("vi", "Vietnamese", "Tiếng Việt"),
    Language("zh", "Chinese (Simplified)", "简体中文"),
    Language("zh-TW", "Chinese (Traditional)", "繁體中文"),
)

_BY_CODE = {lang.code.lower(): lang for lang in LANGUAGES}

def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).casefold().strip()
    return "".join(ch for ch in text if not unicodedata.combining(ch)).replace("_", "-")


_ALIASES: dict[str, Language] = {}
for _lang in LANGUAGES:
    _ALIASES[_fold(_lang.code)] = _lang
    _ALIASES[_fold(_lang.name)] = _lang
    _ALIASES[_fold(_lang.native)] = _lang
_ALIASES.update({
    "chinese": _BY_CODE["zh"], "mandarin": _BY_CODE["zh"], "zh-cn": _BY_CODE["zh"], "zh-hans": _BY_CODE["zh"],
    "zh-hant": _BY_CODE["zh-tw"], "farsi": _BY_CODE["fa"], "tagalog": _BY_CODE["fil"], "tl": _BY_CODE["fil"],
    "nb": _BY_CODE["no"], "norwegian bokmal": _BY_CODE["no"], "pt-pt": _BY_CODE["pt"],
    "brazilian": _BY_CODE["pt-br"], "castilian": _BY_CODE["es"],
})


def resolve_language(text: str) -> Language:
    """``"es"``, ``"Spanish"``, ``"español"`` and ``"ES"`` all give Spanish; anything else raises a
    ``ConfigError`` that suggests the closest names."""
    key = _fold(text)
    if key in _ALIASES:
        return _ALIASES[key]
    base = key.split("-")[0]
    if "-" in key and base in _ALIASES:
        return _ALIASES[base]  # a region tag: es-MX, en-US, fr-CA are the language they tag
    suggestions = difflib.get_close_matches(key, list(_ALIASES), n=3, cutoff=0.6)
    names = ", ".join(f"{_ALIASES[s].name} ({_ALIASES[s].code})" for s in suggestions)
    hint = f" Did you mean {names}?" if suggestions else ""
    raise ConfigError(
        f"Unknown language {text!r}.{hint} Use an ISO code such as es, de, ja or a name such as Spanish; "
        "run with --list-languages to see them all."
    )


def find_language(code: str) -> Language | None:
    """The language for an exact code (any case), or None; never raises."""
    return _BY_CODE.get(code.lower())


def language_name(code: str) -> str:
    """The English name for a code, or the code itself when the table does not know it (a code from
    an old archive or settings file must still be shown, never crash a view or an export)."""
    lang = find_language(code)
    return lang.name if lang is not None else code
