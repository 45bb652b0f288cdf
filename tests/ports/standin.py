"""Small offline stand-ins for the data the original scripts download, made by our code."""
import pathlib

import numpy

LANGUAGES = {"Italian": ("ro", "lli", "ini", "etti"), "German": ("mann", "berg", "stein", "er"),
             "Japanese": ("moto", "saki", "ta", "ko"), "Polish": ("ski", "wicz", "czyk", "ak")}


def names(root, per_language=12):
    """data/names/<Language>.txt: made-up surnames with each language's typical endings."""
    rng = numpy.random.default_rng(0)
    folder = pathlib.Path(root) / "data" / "names"
    folder.mkdir(parents=True)
    stems = ["Ban", "Cor", "Del", "Fer", "Gal", "Hon", "Kas", "Lor", "Mar", "Nak", "Ros", "Tan"]
    for language, endings in LANGUAGES.items():
        lines = [stems[rng.integers(len(stems))] + endings[rng.integers(len(endings))]
                 for _ in range(per_language)]
        (folder / f"{language}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def corpus(root, lines=(40, 12, 12)):
    """train/valid/test.txt of a small word-level corpus: sentences from a tiny grammar."""
    rng = numpy.random.default_rng(1)
    folder = pathlib.Path(root) / "data" / "wikitext-2"
    folder.mkdir(parents=True)
    subjects, verbs, objects = ["the cat", "a dog", "my friend", "the bird"], \
        ["sees", "likes", "follows"], ["the ball", "a tree", "the house", "some food"]
    for name, count in zip(("train", "valid", "test"), lines):
        text = [" ".join([subjects[rng.integers(4)], verbs[rng.integers(3)],
                          objects[rng.integers(4)], "."]) for _ in range(count)]
        (folder / f"{name}.txt").write_text("\n".join(text) + "\n", encoding="utf-8")


def sine_waves(root, count=6, length=40, period=20):
    """traindata.npy: sine waves with random phases, as generate_sine_wave.py makes them."""
    rng = numpy.random.default_rng(2)
    x = numpy.arange(length) + rng.integers(-4 * period, 4 * period, count)[:, None]
    numpy.save(pathlib.Path(root) / "traindata.npy", numpy.sin(x / period).astype("float64"))


def digits(count, seed):
    """(images (count, 1, 28, 28) float32 in [0, 1], labels (count,)): each label a bright bar
    at its own rows, with noise, so a classifier has something to learn."""
    rng = numpy.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    images = rng.uniform(0, 0.3, (count, 1, 28, 28)).astype("float32")
    for image, label in zip(images, labels):
        image[0, 2 * label:2 * label + 3, :] += 0.7
    return images, labels


def anna(root, lines=60):
    """data/anna.txt: sentences from a tiny grammar, with the primes the sampling starts from."""
    folder = pathlib.Path(root) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    corpus(root, lines=(lines, 1, 1))
    text = (pathlib.Path(root) / "data" / "wikitext-2" / "train.txt").read_text()
    (folder / "anna.txt").write_text(text + "Anna And Levin said.\n", encoding="utf-8")


def reviews(root, count=500):
    """data/reviews.txt and data/labels.txt: one made-up review a line, its label ("positive"
    or "negative") on the same line of the other file; count a multiple of 50 keeps the
    notebook's splits in whole batches."""
    rng = numpy.random.default_rng(3)
    good, bad = ["great", "wonderful", "loved", "best", "moving"], \
        ["awful", "boring", "hated", "worst", "dull"]
    filler = ["the", "movie", "was", "a", "and", "it", "film", "plot", "acting"]
    texts, labels = [], []
    for _ in range(count):
        positive = bool(rng.random() < 0.5)
        words = list(rng.choice(filler, 8)) + list(rng.choice(good if positive else bad, 3))
        rng.shuffle(words)
        texts.append(" ".join(words) + ".")
        labels.append("positive" if positive else "negative")
    folder = pathlib.Path(root) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reviews.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    (folder / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")


def eng_fra(root):
    """data/eng-fra.txt: tab-separated English and French sentences whose English side starts
    with the prefixes the translation tutorial keeps ("i am", "he is", ...)."""
    subjects = [("I am", "Je suis"), ("He is", "Il est"), ("She is", "Elle est"),
                ("You are", "Vous etes"), ("We are", "Nous sommes"), ("They are", "Ils sont")]
    states = [("tired", "fatigue"), ("happy", "heureux"), ("tall", "grand"),
              ("sorry", "desole"), ("too tired to drive", "trop fatigue pour conduire")]
    lines = [f"{english} {state}.\t{french} {etat}."
             for english, french in subjects for state, etat in states]
    folder = pathlib.Path(root) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "eng-fra.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def lm_train(root, lines=80):
    """data/train.txt: sentences of the tiny grammar, one a line."""
    corpus(root, lines=(lines, 1, 1))
    text = (pathlib.Path(root) / "data" / "wikitext-2" / "train.txt").read_text()
    (pathlib.Path(root) / "data" / "train.txt").write_text(text, encoding="utf-8")


def movie_corpus(root, conversations=60):
    """data/movie-corpus/utterances.jsonl: three-line conversations (a question, its answer,
    the next question) in the Cornell corpus's JSON lines, newest line first as there."""
    import json
    rng = numpy.random.default_rng(4)
    questions = ["how are you ?", "where are you going ?", "what is your name ?",
                 "are you ok ?", "who is there ?"]
    answers = ["i am fine .", "i am going home .", "my name is bob .", "yes i am ok .",
               "it is me ."]
    records = []
    for c in range(conversations):
        k = int(rng.integers(len(questions)))
        for text in (questions[k], answers[k], questions[(k + 1) % len(questions)]):
            records.append(json.dumps({"id": f"L{len(records)}", "speaker": "u", "text": text,
                                       "conversation_id": f"C{c}",
                                       "meta": {"movie_id": "m0"}}))
    folder = pathlib.Path(root) / "data" / "movie-corpus"
    folder.mkdir(parents=True)
    (folder / "utterances.jsonl").write_text("\n".join(reversed(records)) + "\n",
                                             encoding="utf-8")
