"""Container names, Docker's rules: what a given name may be, and the ``adjective_surname``
names made for containers created without one (Docker's names-generator, a shorter list;
``boring_wozniak`` is never made, as in Docker).

A name is stored with a leading ``/``; users give it with or without. Docker's pattern is
``[a-zA-Z0-9][a-zA-Z0-9_.-]+`` (two characters at least).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from dockyard.errors import InvalidArgument

VALID_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"

ADJECTIVES = (
    "admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome", "beautiful", "blissful",
    "bold", "boring", "brave", "busy", "charming", "clever", "compassionate", "competent", "condescending",
    "confident", "cool", "cranky", "crazy", "dazzling", "determined", "distracted", "dreamy", "eager",
    "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic", "exciting", "fervent", "festive",
    "flamboyant", "focused", "friendly", "frosty", "funny", "gallant", "gifted", "goofy", "gracious", "great",
    "happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible", "inspiring", "intelligent",
    "interesting", "jolly", "jovial", "keen", "kind", "laughing", "loving", "lucid", "magical", "modest",
    "musing", "mystifying", "naughty", "nervous", "nice", "nifty", "nostalgic", "objective", "optimistic",
    "peaceful", "pedantic", "pensive", "practical", "priceless", "quirky", "quizzical", "recursing",
    "relaxed", "reverent", "romantic", "sad", "serene", "sharp", "silly", "sleepy", "stoic", "strange",
    "stupefied", "suspicious", "sweet", "tender", "thirsty", "trusting", "unruffled", "upbeat", "vibrant",
    "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen",
)

SURNAMES = (
    "agnesi", "albattani", "allen", "almeida", "archimedes", "ardinghelli", "aryabhata", "austin", "babbage",
    "banach", "bardeen", "bartik", "bassi", "bell", "bhabha", "bhaskara", "blackwell", "bohr", "booth",
    "borg", "bose", "boyd", "brahmagupta", "brattain", "brown", "carson", "cerf", "chandrasekhar", "chaplygin",
    "chatelet", "chatterjee", "cohen", "colden", "cori", "cray", "curie", "darwin", "davinci", "dijkstra",
    "dubinsky", "easley", "edison", "einstein", "elion", "engelbart", "euclid", "euler", "faraday", "fermat",
    "fermi", "feynman", "franklin", "gagarin", "galileo", "gates", "gauss", "germain", "goldberg",
    "goldstine", "goodall", "hamilton", "hawking", "heisenberg", "hermann", "hertz", "hodgkin", "hofstadter",
    "hoover", "hopper", "hugle", "hypatia", "jackson", "jang", "jennings", "jepsen", "johnson", "joliot",
    "jones", "kalam", "kapitsa", "kare", "keldysh", "keller", "kepler", "khorana", "kilby", "kirch", "knuth",
    "kowalevski", "lalande", "lamarr", "lamport", "leakey", "leavitt", "lederberg", "lehmann", "lewin",
    "lichterman", "liskov", "lovelace", "lumiere", "mahavira", "margulis", "matsumoto", "maxwell", "mayer",
    "mccarthy", "mcclintock", "mclean", "mcnulty", "meitner", "mendel", "mendeleev", "merkle", "mestorf",
    "mirzakhani", "montalcini", "moore", "morse", "moser", "murdock", "napier", "nash", "neumann", "newton",
    "nightingale", "nobel", "noether", "northcutt", "noyce", "panini", "pare", "pascal", "pasteur", "payne",
    "perlman", "pike", "poincare", "poitras", "proskuriakova", "ptolemy", "raman", "ramanujan", "rhodes",
    "ride", "ritchie", "robinson", "roentgen", "rosalind", "rubin", "saha", "sammet", "sanderson", "satoshi",
    "shamir", "shannon", "shaw", "shirley", "shockley", "shtern", "sinoussi", "snyder", "solomon", "spence",
    "stonebraker", "sutherland", "swanson", "swartz", "swirles", "taussig", "tesla", "tharp", "thompson",
    "torvalds", "tu", "turing", "varahamihira", "vaughan", "villani", "visvesvaraya", "volhard", "wescoff",
    "wilbur", "wiles", "williams", "williamson", "wilson", "wing", "wozniak", "wright", "wu", "yalow",
    "yonath", "zhukovsky",
)


def normalize(name: str) -> str:
    """A user's name checked and given its leading ``/`` (InvalidArgument with Docker's text)."""
    if not VALID_NAME.match(name):
        raise InvalidArgument(f"Invalid container name ({name}), only {NAME_CHARS} are allowed")
    return name if name.startswith("/") else "/" + name


def random_name(retry: int = 0, choice: Callable[[tuple[str, ...]], str] = random.choice) -> str:
    """``adjective_surname`` (with a digit appended on a retry, as Docker does)."""
    while True:
        name = f"{choice(ADJECTIVES)}_{choice(SURNAMES)}"
        if name != "boring_wozniak":
            break
    if retry > 0:
        name += str(random.randrange(10))
    return name
