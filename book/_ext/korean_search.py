"""Korean full-text search for the Sphinx HTML builder (search language 'ko').

Sphinx splits text at spaces and has no rule for Korean, where particles are glued to the word:
the page says 토픽은, 토픽을, 토픽의 and a reader searches for 토픽. This language class indexes
every Hangul word by its syllable bigrams, and processes a query the same way in Python and in the
browser (the JavaScript below is the same algorithm):

* a Hangul word in the query loses its trailing particles (조사) as long as two syllables remain:
  토픽은 -> 토픽, 파티션을 -> 파티션, 브로커에서는 -> 브로커, 컨슈머들의 -> 컨슈머;
* a query word of two syllables is looked up as it is; a longer one as all of its bigrams, which must
  all be on the page (파티션 -> 파티 + 티션), so 파티션별 and 파티션들을 are found as well;
* the index holds every bigram of every Hangul word of the page (so any two-syllable query is a
  substring search), plus one-syllable words and one-syllable stems (키는 -> 키);
* Latin words (code, English terms) are lowercased and Porter-stemmed as in Sphinx's English search,
  and a particle glued to them (KafkaProducer를) is dropped.

`index_terms(text)` and `query_terms(text)` are the Python side; JS_SPLITTER/JS_STEMMER the browser side.
"""
import re

import snowballstemmer
from sphinx.search import SearchLanguage
from sphinx.search.en import english_stopwords, js_porter_stemmer

HANGUL = "\uac00-\ud7a3"
#: particles and copula endings stripped from the end of a query word, longest first
PARTICLES = sorted(set("""
    은 는 이 가 을 를 의 에 와 과 도 만 로 께 나 란 야
    에서 에게 한테 께서 으로 부터 까지 보다 처럼 마다 조차 마저 이나 이란 이며 이고 이다 이야
    에서는 에서도 에서의 에게는 으로는 으로도 으로서 으로써 로서 로써 로는 로도 에는 에도 에의
    와는 과는 와도 과도 와의 과의 이라는 라는 이라고 라고 이라면 라면 입니다 이에요 예요 이지만
    까지는 까지도 부터는 보다는 처럼 만큼 만의 만을 만이 만은 들 들은 들이 들을 들의 들에 들과 들도 들로
""".split()), key=len, reverse=True)

_word_re = re.compile(r"\w+")
_part_re = re.compile(rf"[{HANGUL}]+|[^{HANGUL}]+")
_hangul_re = re.compile(rf"[{HANGUL}]")
_porter = snowballstemmer.stemmer("porter")


def is_hangul(word):
    return bool(_hangul_re.match(word))


def strip_particles(word, keep=2):
    """Remove trailing particles while at least `keep` syllables remain (longest particle first)."""
    changed = True
    while changed:
        changed = False
        for p in PARTICLES:
            if word.endswith(p) and len(word) - len(p) >= keep:
                word = word[: -len(p)]
                changed = True
                break
    return word


def bigrams(word):
    return [word[i:i + 2] for i in range(len(word) - 1)]


def _pieces(text):
    """(piece, glued) for each Hangul or non-Hangul run of each word; glued: a Hangul run right after a Latin one."""
    for token in _word_re.findall(text):
        previous = None
        for piece in _part_re.findall(token):
            yield piece, previous is not None and not is_hangul(previous)
            previous = piece


def _is_particle(piece):
    return piece in PARTICLES or strip_particles(piece, keep=0) == ""


def index_terms(text):
    """Terms put in the index for `text` (before Sphinx's stem(), which leaves Hangul terms alone)."""
    out = []
    for piece, glued in _pieces(text):
        if not is_hangul(piece):
            out.append(piece)
        elif glued and _is_particle(piece):
            continue
        elif len(piece) == 1:
            out.append(piece)
        else:
            out.extend(bigrams(piece))
            stem = strip_particles(piece, keep=1)
            if len(stem) == 1:
                out.append(stem)
    return out


def query_terms(text):
    """Search terms for a query, as the browser computes them (splitQuery, then Stemmer.stemWord)."""
    out = []
    for piece, glued in _pieces(text.strip()):
        if not is_hangul(piece):
            word = piece.lower()
            if word in english_stopwords or word.isdigit():
                continue
            out.append(_porter.stemWord(word))
        elif glued and _is_particle(piece):
            continue
        else:
            stem = strip_particles(piece)
            out.extend([stem] if len(stem) <= 2 else bigrams(stem))
    return list(dict.fromkeys(out))


JS_SPLITTER = r"""
/* Korean query splitter (book/_ext/korean_search.py: the same algorithm as query_terms) */
var KO_PARTICLES = %(particles)s;
var KO_HANGUL = /^[\uac00-\ud7a3]/;
function koStripParticles(word, keep) {
  var changed = true;
  while (changed) {
    changed = false;
    for (var i = 0; i < KO_PARTICLES.length; i++) {
      var p = KO_PARTICLES[i];
      if (word.length - p.length >= keep && word.slice(-p.length) === p) {
        word = word.slice(0, -p.length);
        changed = true;
        break;
      }
    }
  }
  return word;
}
function koIsParticle(piece) {
  return KO_PARTICLES.indexOf(piece) !== -1 || koStripParticles(piece, 0) === "";
}
function splitQuery(query) {
  var out = [];
  var tokens = query.trim().match(/[\p{L}\p{N}\p{Mn}\p{Mc}\p{Pc}]+/gu) || [];
  tokens.forEach(function (token) {
    var previous = null;
    (token.match(/[\uac00-\ud7a3]+|[^\uac00-\ud7a3]+/g) || []).forEach(function (piece) {
      var glued = previous !== null && !KO_HANGUL.test(previous);
      previous = piece;
      if (!KO_HANGUL.test(piece)) { out.push(piece); return; }
      if (glued && koIsParticle(piece)) return;
      var stem = koStripParticles(piece, 2);
      if (stem.length <= 2) { out.push(stem); return; }
      for (var i = 0; i + 2 <= stem.length; i++) out.push(stem.slice(i, i + 2));
    });
  });
  return out.filter(function (t, i) { return out.indexOf(t) === i; });
}
"""

JS_STEMMER = js_porter_stemmer.replace("var Stemmer = function", "var PorterStemmer = function") + r"""
/* Hangul terms are final after splitQuery; Latin words are Porter-stemmed as in English search */
var Stemmer = function () {
  var porter = new PorterStemmer();
  this.stemWord = function (w) {
    return KO_HANGUL.test(w) ? w : porter.stemWord(w);
  };
};
"""


class SearchKorean(SearchLanguage):
    lang = "ko"
    language_name = "Korean"
    stopwords = english_stopwords
    js_splitter_code = JS_SPLITTER % {"particles": "[" + ", ".join(f'"{p}"' for p in PARTICLES) + "]"}
    js_stemmer_code = JS_STEMMER

    def split(self, input):
        return index_terms(input)

    def stem(self, word):
        return word if is_hangul(word) else _porter.stemWord(word.lower())


def setup(app):
    app.add_search_language(SearchKorean)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
