"""Coarse-to-fine (hierarchical) retrieval over long videos vs flat segment search, per aggregator.

Corpus (synthetic, deterministic): ``--videos`` long videos of 10–60 minutes, each a run of 10–30 s scenes.
Every scene has one subtitle sentence ``"<subject> <action> <setting> <time of day>."`` drawn from one of 32
topics (harbour, volcano, bakery, ...; 8 subjects x 8 actions x 6 settings per topic, 6 times of day shared).
A video has a main topic (70% of its scenes) and two side topics (30%), as long documentaries or lecture
series do; each topic is the main topic of several videos, so the first stage must tell apart videos on the
same subject. Queries name a scene's subject, action and time of day (not its setting) and are kept only
when exactly one scene in the corpus matches them: every query has a single correct segment.

Segments are embedded with the bundled MiniLM (real weights, ``encode_document``; queries ``encode_query``)
and written to a Qdrant Edge index (``minilm`` dense channel, HNSW after ``optimize()``) with a ``minilm``
video channel. **In the main run segments are the scenes themselves (the scene texts are embedded directly;
no video is decoded)**: pushing 100+ hours of video through decoding and chunking does not fit this 2-core
machine. ``--e2e N`` also runs a smaller slice end to end: N real 10-minute videos (64x36, 2 fps, SRT
sidecars) through ``VideoIndex.add`` (decode, semantic chunking, transcript, MiniLM), whose stored segments
are then evaluated the same way (a hit counts when the returned segment contains the target scene's midpoint).

Measured per aggregator (mean K=1, kmeans, lvmae trained on the index's own embeddings, no labels):

- build: seconds to read every video's segment vectors, aggregate and write video vectors (plus training
  time for lvmae), and the mean coverage (mean over segments of the best cosine to their video's vectors).
- segment Recall@1/5/10 and p50/p95 query latency, flat vs coarse-to-fine with the top ``V`` videos by
  video-level MaxSim (``Store.search_videos``) then segment search inside them (``video_ids=``); "video hit"
  is the share of queries whose answer video is among the ``V``. Query encoding is excluded (same both ways).

Run (prints a markdown table; ``--json`` for the raw numbers):

    .venv/bin/python benchmarks/coarse_to_fine.py                 # 120 videos, ~13k segments
    .venv/bin/python benchmarks/coarse_to_fine.py --e2e 20        # + 20 real videos through the pipeline
    .venv/bin/python benchmarks/coarse_to_fine.py --videos 20 --steps 30   # smoke test
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHANNEL = "minilm"
TIMES = ("at dawn", "in the morning", "at noon", "in the afternoon", "at dusk", "at night")

# topic: subjects | actions | settings (8 | 8 | 6), ';'-separated
TOPICS = {
    "harbour": "a fisherman;the harbour master;a deckhand;an old sailor;a fishmonger;the ferry captain;"
    "a dock worker;a net mender|unloads crates of sardines;repairs a torn fishing net;ties up a trawler;"
    "weighs the morning catch;paints the hull of a boat;hauls lobster pots aboard;coils a heavy rope;"
    "sells mackerel from a cart|on the stone pier;beside the lighthouse;in the fish market;on a rocking deck;"
    "near the breakwater;by the dry dock",
    "volcano": "a volcanologist;a geology student;a park ranger;a helicopter pilot;a field technician;"
    "a lava photographer;a seismologist;a rescue guide|measures the gas coming from a vent;collects a sample "
    "of fresh lava;installs a seismometer;flies over the crater rim;records a small eruption;"
    "checks the thermal camera;marks a new fissure;warns hikers about ash|on the crater rim;"
    "beside a lava flow;in the observatory;on black ash slopes;near a steaming fumarole;at the base camp",
    "bakery": "the head baker;an apprentice baker;a pastry chef;the bakery owner;a cake decorator;"
    "a flour miller;a delivery driver;a young cashier|kneads sourdough dough;pulls baguettes from the oven;"
    "pipes cream onto eclairs;weighs flour for rye bread;shapes croissants;glazes cinnamon buns;"
    "slices a wedding cake;stacks loaves on the shelf|in the back kitchen;beside the wood-fired oven;"
    "at the shop counter;in the cold proofing room;by the window display;in the flour store",
    "astronomy": "an astronomer;a telescope operator;an amateur stargazer;a planetarium guide;"
    "an astrophysics student;a satellite engineer;a night sky photographer;a comet hunter|aligns the "
    "telescope mirror;photographs the Andromeda galaxy;tracks a passing satellite;counts meteors;"
    "calibrates the spectrograph;points a laser at the Milky Way;logs the brightness of a variable star;"
    "opens the observatory dome|on a dark mountain top;inside the dome;in the control room;"
    "at the desert observatory;beside the radio dish;in the planetarium",
    "football": "the striker;the goalkeeper;the team coach;a young midfielder;the referee;a team physio;"
    "the club captain;a talent scout|scores a header from a corner;saves a penalty kick;"
    "draws tactics on a whiteboard;practises free kicks;shows a yellow card;treats a sprained ankle;"
    "lifts the trophy;takes notes on a winger|on the training pitch;in the packed stadium;"
    "in the locker room;by the corner flag;in the tunnel;on the muddy field",
    "surgery": "the surgeon;an anaesthetist;a scrub nurse;a medical student;the ward sister;"
    "a paramedic;a cardiologist;an orthopaedic resident|stitches a deep wound;checks the heart monitor;"
    "counts the surgical instruments;scrubs in before the operation;sets a broken wrist;"
    "reads an x-ray of a knee;inserts an intravenous line;wheels a patient to recovery|in the operating "
    "theatre;in the emergency room;at the nurses station;in the recovery ward;beside the ambulance bay;"
    "in the scrub room",
    "beekeeping": "a beekeeper;a honey farmer;a queen breeder;an entomologist;a hobby apiarist;"
    "a pollination contractor;a wax chandler;a young helper|lifts a frame full of capped honey;"
    "smokes the hive entrance;marks the queen with paint;spins honey in the extractor;melts beeswax into "
    "candles;counts varroa mites;catches a swarm in a box;moves hives to an orchard|in the apple orchard;"
    "in the honey house;beside a row of hives;in a lavender field;at the village fair;on a rooftop garden",
    "railway": "the train driver;a station master;a signal engineer;a ticket inspector;a track worker;"
    "a railway historian;a steam locomotive fireman;a conductor|shovels coal into the firebox;"
    "checks tickets in the dining car;switches the points by hand;inspects a cracked rail;"
    "waves the green flag;oils the driving wheels;announces a delayed departure;couples two carriages|"
    "on the station platform;in the signal box;inside the engine shed;on a viaduct;in the sleeper car;"
    "at the level crossing",
    "chess": "a grandmaster;a chess prodigy;the tournament arbiter;a chess coach;a club veteran;"
    "a blitz player;a chess commentator;an opening theorist|sacrifices a queen;offers a draw;"
    "analyses the endgame;resigns after a blunder;sets up the board;presses the clock after a quick move;"
    "explains a knight fork;studies the Sicilian defence|in the tournament hall;at a park table;"
    "in the commentary booth;in a quiet library;at the chess club;in a hotel lobby",
    "winemaking": "a winemaker;a grape picker;the cellar master;a sommelier;a cooper;a vineyard owner;"
    "a wine chemist;a tasting guide|crushes red grapes by foot;tastes wine from the barrel;"
    "prunes the old vines;measures the sugar in the juice;bends oak staves into a barrel;corks bottles of "
    "rose;pours a glass for visitors;checks the fermentation tanks|in the vineyard rows;in the barrel cellar;"
    "at the tasting room bar;beside the grape press;in the bottling hall;on a sunny hillside",
    "glaciers": "a glaciologist;a mountain guide;a polar researcher;a drone operator;an ice climber;"
    "a climate modeller;a camp cook;a snowmobile driver|drills an ice core;measures how fast the glacier "
    "moves;abseils into a crevasse;flies a drone over the ice front;plants a stake in the snow;"
    "watches an iceberg calve;melts snow for drinking water;tows a sledge of equipment|on the ice sheet;"
    "at the glacier snout;inside an ice cave;by the meltwater lake;at the research hut;on the moraine",
    "carpentry": "a carpenter;a furniture maker;a timber framer;a woodturner;an apprentice joiner;"
    "a boat builder;a luthier;a sawmill operator|planes an oak board;cuts dovetail joints;"
    "turns a bowl on the lathe;glues up a tabletop;carves the neck of a guitar;raises a roof beam;"
    "steams planks for a hull;sharpens a chisel|in the workshop;in the timber yard;on the building site;"
    "beside the band saw;in the boat shed;at the workbench",
    "rainforest": "a botanist;a wildlife filmmaker;a canopy researcher;a local guide;a herpetologist;"
    "a birdwatcher;a conservation ranger;a river boatman|climbs into the canopy;films a jaguar at night;"
    "identifies a rare orchid;catches a poison dart frog;records the call of a toucan;measures a giant "
    "kapok tree;paddles a canoe upstream;sets a camera trap|on a rope bridge;by the muddy river;"
    "in a forest clearing;under the dense canopy;at the jungle lodge;beside a waterfall",
    "ballet": "a prima ballerina;the choreographer;a corps de ballet dancer;the ballet master;"
    "a pianist;a costume designer;a young student;a stage manager|rehearses a difficult pirouette;"
    "stretches at the barre;sews ribbons on pointe shoes;corrects the dancers' arms;plays the waltz;"
    "fits a tutu;bows after the final act;calls the lighting cues|in the rehearsal studio;on the opera "
    "stage;in the dressing room;in the orchestra pit;backstage in the wings;at the dance school",
    "robotics": "a robotics engineer;a PhD student;a drone pilot;a factory technician;a software developer;"
    "a competition team;a hardware tester;a lab manager|calibrates a robot arm;solders a motor controller;"
    "trains a walking robot;debugs the navigation code;replaces a gripper;tests a delivery drone;"
    "programs a welding robot;charges the battery packs|in the robotics lab;on the factory floor;"
    "at the competition arena;in the test field;beside the assembly line;in the clean room",
    "farming": "a dairy farmer;a shepherd;a tractor driver;a farm vet;a wheat grower;a sheepdog trainer;"
    "a cheesemaker;a farm hand|milks the cows;shears a sheep;ploughs the field;vaccinates a calf;"
    "harvests wheat with a combine;whistles commands to the dog;turns wheels of cheese;mends a fence|"
    "in the milking parlour;on the hill pasture;in the barn;in the golden wheat field;by the farmhouse;"
    "at the cattle market",
    "archaeology": "an archaeologist;a field student;a pottery specialist;a site director;a surveyor;"
    "a museum curator;a bone expert;a volunteer digger|brushes soil from a skull;sieves earth for beads;"
    "labels pottery shards;maps the trench with a total station;lifts a bronze coin;photographs a mosaic "
    "floor;cleans a rusted sword;draws the layers of soil|in the excavation trench;in the finds tent;"
    "at the museum store;on a hilltop fort;in a Roman villa;by the spoil heap",
    "firefighting": "a firefighter;the fire chief;a smoke jumper;a fire engine driver;a dispatcher;"
    "a fire investigator;a rescue diver;a trainee|sprays water onto a burning roof;carries a child down "
    "a ladder;cuts a firebreak;parks the engine by a hydrant;takes an emergency call;searches the ashes "
    "for the cause;pulls a swimmer from the lake;practises with breathing gear|at the fire station;"
    "in a burning warehouse;on a forest ridge;at the control centre;by the frozen lake;in the smoke tower",
    "cycling": "a road cyclist;the team mechanic;a mountain biker;a race commissaire;a bike messenger;"
    "a track sprinter;a cycling coach;a frame builder|climbs a steep mountain pass;fixes a flat tyre;"
    "jumps over a log;checks the race numbers;weaves through traffic;sprints for the finish line;"
    "reads the power data;welds a steel frame|on an alpine road;in the team car;on a forest trail;"
    "at the finish line;in the city centre;in the velodrome",
    "jazz": "a saxophonist;the bandleader;a double bass player;a jazz singer;a drummer;a trumpet player;"
    "a sound engineer;a club owner|improvises a long solo;counts in the next tune;plucks a walking bass "
    "line;scats over the chorus;plays brushes on the snare;hits a high note;adjusts the microphone levels;"
    "opens the doors for the late show|in a smoky club;in the recording studio;on the festival stage;"
    "at a hotel bar;in a rehearsal basement;on a riverboat",
    "pottery": "a potter;a ceramic artist;a kiln technician;a glaze chemist;a pottery teacher;a student;"
    "a tile maker;a gallery owner|throws a tall vase on the wheel;trims the foot of a bowl;loads the "
    "kiln;mixes a blue glaze;shows how to centre clay;wedges a block of clay;paints a tile pattern;"
    "prices teapots for the show|in the pottery studio;beside the gas kiln;in the glaze room;"
    "at the craft fair;in the drying room;at the gallery",
    "aviation": "an airline pilot;a co-pilot;an air traffic controller;an aircraft mechanic;"
    "a flight attendant;a baggage handler;a flight instructor;a test pilot|lands in a crosswind;"
    "runs the pre-flight checklist;clears a jet for takeoff;replaces a turbine blade;serves drinks in "
    "the cabin;loads suitcases into the hold;teaches a stall recovery;breaks the sound barrier|in the "
    "cockpit;in the control tower;in the hangar;on the runway;in the cabin aisle;at the flight school",
    "mountaineering": "a climber;a sherpa;an expedition doctor;a base camp manager;a rope team leader;"
    "a mountain photographer;a weather forecaster;a rescue pilot|fixes ropes on an ice wall;carries "
    "oxygen bottles;treats altitude sickness;checks the weather forecast;crosses a ladder over a crevasse;"
    "reaches the summit;digs a snow cave;lifts an injured climber|on the summit ridge;at base camp;"
    "in a tent at high camp;in the icefall;on a snowy col;at the trailhead",
    "marine biology": "a marine biologist;a scuba diver;a whale researcher;a coral scientist;"
    "an underwater cameraman;a research boat captain;a shark tagger;a plankton expert|tags a tiger shark;"
    "counts fish on the reef;films a humpback whale;plants coral fragments;collects plankton in a net;"
    "measures water temperature;frees a turtle from a net;records dolphin clicks|on the coral reef;"
    "aboard the research vessel;in a kelp forest;in the deep blue water;at the marine lab;in a sea cave",
    "printing": "a printer;a typesetter;a bookbinder;a paper maker;an illustrator;a press operator;"
    "a proof reader;a calligrapher|sets metal type by hand;inks the printing press;sews the pages of a "
    "book;pulls a sheet of paper from the vat;carves a woodcut;checks the colour registration;"
    "marks typos in red;letters a wedding invitation|in the print shop;at the bindery;in the paper mill;"
    "at the drawing desk;beside the big press;in the archive",
    "tennis": "a tennis player;the umpire;a ball kid;a tennis coach;a line judge;a racket stringer;"
    "a junior player;a sports physio|serves an ace;argues about a line call;chases a stray ball;"
    "drills backhands with a student;calls a ball out;strings a racket;wins a long rally;tapes a sore "
    "shoulder|on the grass court;on the clay court;in the players lounge;at the baseline;in the gym;"
    "on centre court",
    "desert": "a nomad;a camel driver;a desert ecologist;a solar engineer;a rally driver;an oasis farmer;"
    "a sand dune surfer;a water engineer|leads a camel caravan;photographs a fennec fox;cleans solar "
    "panels;drives across the dunes;picks dates from a palm;surfs down a dune;drills a new well;"
    "pitches a tent in a sandstorm|among the sand dunes;at the oasis;at the solar farm;on a salt flat;"
    "in a rocky canyon;by the nomad camp",
    "cooking school": "a chef instructor;a culinary student;a sous chef;a food critic;a butcher;"
    "a fishmonger student;a pastry student;a kitchen porter|demonstrates knife skills;fillets a salmon;"
    "reduces a red wine sauce;tastes the risotto;breaks down a side of beef;tempers chocolate;"
    "plates a dessert;scrubs the pots|in the teaching kitchen;at the cold station;by the grill;"
    "in the walk-in fridge;at the pass;in the dining room",
    "space flight": "an astronaut;the flight director;a mission engineer;a launch commentator;"
    "a spacesuit technician;a rocket scientist;a recovery diver;a ground controller|floats through the "
    "space station;gives the go for launch;tests the heat shield;counts down to liftoff;checks the "
    "spacesuit gloves;fires the rocket engine on a test stand;opens the capsule hatch at sea;"
    "talks to the crew over the radio|in mission control;on the launch pad;in the space station;"
    "at the test stand;in the ocean;in the clean room",
    "libraries": "a librarian;an archivist;a rare book restorer;a student;a children's storyteller;"
    "a historian;a library volunteer;a researcher|shelves returned books;repairs a torn manuscript;"
    "reads a story to toddlers;searches the old catalogue;scans a medieval map;helps someone find a "
    "novel;stamps due dates;photographs old letters|in the reading room;in the archive vault;"
    "at the front desk;in the children's corner;among the stacks;in the conservation lab",
    "motor racing": "a racing driver;the pit crew chief;a race engineer;a tyre technician;a marshal;"
    "the team principal;a commentator;a safety car driver|changes four tyres in two seconds;studies the "
    "telemetry;waves the chequered flag;overtakes on the final lap;spins off into the gravel;"
    "leads the field behind the safety car;argues with the stewards;tests a new front wing|in the pit "
    "lane;on the starting grid;in the team garage;at the hairpin bend;in the wind tunnel;on the podium",
    "wildlife rescue": "a wildlife vet;an animal keeper;a bird rehabilitator;a volunteer;a ranger;"
    "a seal rescuer;an orphan elephant carer;a bat expert|bandages an owl's wing;bottle feeds an "
    "elephant calf;releases a seal into the sea;weighs a baby hedgehog;treats a fox with mange;"
    "cleans oil from a seabird;counts bats leaving a cave;builds a new enclosure|at the rescue centre;"
    "on the beach;in the animal hospital;at the release site;in the night shelter;by the cave mouth",
}


@dataclass(frozen=True)
class Scene:
    video: int
    start: float
    end: float
    topic: str
    parts: tuple[str, str, str, str]  # subject, action, setting, time

    @property
    def text(self) -> str:
        s, a, place, t = self.parts
        return f"{s[0].upper()}{s[1:]} {a} {place} {t}."

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.topic, self.parts[0], self.parts[1], self.parts[3])

    def query(self) -> str:
        s, a, _, t = self.parts
        return f"the moment {s} {a} {t}"


def vocab() -> dict[str, list[list[str]]]:
    return {name: [part.split(";") for part in spec.split("|")] for name, spec in TOPICS.items()}


def make_corpus(n_videos: int, seed: int, *, min_min: float = 10, max_min: float = 60) -> list[list[Scene]]:
    """``n_videos`` videos of scenes; video ``v``'s main topic is topic ``v mod 32``."""
    rng = np.random.default_rng(seed)
    words, names = vocab(), sorted(TOPICS)
    videos = []
    for v in range(n_videos):
        main = names[v % len(names)]
        side = rng.choice([n for n in names if n != main], size=2, replace=False)
        length, t, scenes = rng.uniform(min_min, max_min) * 60, 0.0, []
        while t < length - 10:
            topic = main if rng.random() < 0.7 else str(side[rng.integers(2)])
            subj, act, place = (str(rng.choice(w)) for w in words[topic])
            dur = min(float(rng.uniform(10, 30)), length - t)
            scenes.append(
                Scene(v, round(t, 3), round(t + dur, 3), topic, (subj, act, place, str(rng.choice(TIMES))))
            )
            t += dur
        videos.append(scenes)
    return videos


def pick_queries(videos: list[list[Scene]], n: int, seed: int) -> list[Scene]:
    """``n`` target scenes whose (topic, subject, action, time) occurs exactly once in the corpus."""
    scenes = [s for v in videos for s in v]
    counts = Counter(s.key for s in scenes)
    unique = [s for s in scenes if counts[s.key] == 1]
    rng = np.random.default_rng(seed + 1)
    return [unique[i] for i in rng.choice(len(unique), size=min(n, len(unique)), replace=False)]


# ----------------------------------------------------------------------------- embedding and the index


def minilm() -> Any:
    from vrag.encoders import create_encoder

    return create_encoder("minilm", device="cpu")


def open_bench_store(path: Path, dim: int) -> Any:
    from vrag.store import StoreSchema, open_store

    schema = StoreSchema(dense={CHANNEL: (dim, "cosine")}, video_channels={CHANNEL: dim}, fingerprint="c2f")
    return open_store(path, schema=schema)


def ingest_scenes(store: Any, videos: list[list[Scene]], vectors: dict[str, np.ndarray]) -> float:
    """Write every scene as one segment (its sentence's MiniLM vector); returns seconds incl. optimize()."""
    from vrag.store import SegmentRecord, VideoRecord

    t0 = time.perf_counter()
    for v, scenes in enumerate(videos):
        vid = f"video{v:03d}"
        store.begin_video(vid)
        store.add_segments(
            SegmentRecord(vid, f"{vid}.mp4", s.start, s.end, {CHANNEL: vectors[s.text]}, text=s.text)
            for s in scenes
        )
        store.commit_video(VideoRecord(vid, f"{vid}.mp4", scenes[-1].end))
    store.optimize()
    return time.perf_counter() - t0


@dataclass(frozen=True)
class Target:
    """Where a query's answer is: a video and a time inside the target scene."""

    video_id: str
    time: float


def is_hit(hit: Any, target: Target) -> bool:
    return bool(hit.video_id == target.video_id and hit.start <= target.time < hit.end)


def evaluate(
    store: Any, queries: np.ndarray, targets: list[Target], top_videos: int | None
) -> dict[str, Any]:
    """Recall@1/5/10, video hit rate and latency; ``top_videos`` None = flat search."""
    ranks, video_hits, lat = [], 0, []
    for q in queries[:5]:  # warm-up
        _search(store, q, top_videos)
    for q, target in zip(queries, targets, strict=True):
        t0 = time.perf_counter()
        hits, videos = _search(store, q, top_videos)
        lat.append(time.perf_counter() - t0)
        video_hits += target.video_id in videos if videos is not None else 0
        ranks.append(next((i for i, h in enumerate(hits) if is_hit(h, target)), None))
    out: dict[str, Any] = {
        f"R@{k}": float(np.mean([r is not None and r < k for r in ranks])) for k in (1, 5, 10)
    }
    out["video_hit"] = video_hits / len(targets) if top_videos else None
    out["p50_ms"], out["p95_ms"] = (float(np.percentile(lat, p) * 1000) for p in (50, 95))
    return out


def _search(store: Any, q: np.ndarray, top_videos: int | None) -> tuple[list[Any], set[str] | None]:
    if top_videos is None:
        return store.search(CHANNEL, q, k=10), None
    top = [v.video_id for v in store.search_videos(CHANNEL, q, k=top_videos)]
    return store.search(CHANNEL, q, k=10, video_ids=top), set(top)


# ----------------------------------------------------------------------------- aggregators


def build_all(store: Any, work: Path, args: argparse.Namespace) -> list[tuple[str, Any, dict[str, Any]]]:
    """(label, aggregator factory, build info) per aggregator; lvmae is trained here on the stored vectors."""
    from vrag.aggregate import create_aggregator

    out: list[tuple[str, Any, dict[str, Any]]] = [
        ("mean", lambda: create_aggregator("mean"), {"train_s": 0.0}),
        *((f"kmeans K={k}", _kmeans(k), {"train_s": 0.0}) for k in args.k),
    ]
    for k in args.k:
        path, info = train_lvmae(store, work / f"lvmae-{k}", k, args)
        out.append((f"lvmae K={k}", lambda p=path: create_aggregator("lvmae", path=p), info))
    return out


def _kmeans(k: int) -> Any:
    from vrag.aggregate import create_aggregator

    return lambda: create_aggregator("kmeans", k=k)


def train_lvmae(store: Any, path: Path, k: int, args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    from vrag.aggregate import LVMAEConfig, store_sequences, train_aggregator

    t0 = time.perf_counter()
    seqs = [emb for _, emb, _ in store_sequences(store, CHANNEL)]
    cfg = LVMAEConfig(k=k, masking=args.masking)
    report = train_aggregator(
        seqs, out_dir=path, config=cfg, steps=args.steps, batch=args.batch, schema=store.schema.to_record(),
        channel=CHANNEL, resume=False,
    )  # fmt: skip
    info = {"train_s": time.perf_counter() - t0, **{f"train_{k}": v for k, v in report.to_dict().items()}}
    return path, info


def run_aggregators(
    store: Any, queries: np.ndarray, targets: list[Target], work: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    from vrag.aggregate import build_video_vectors

    rows = [{"method": "flat", **evaluate(store, queries, targets, None)}]
    for label, factory, info in build_all(store, work, args):
        t0 = time.perf_counter()
        built = build_video_vectors(store, factory(), channel=CHANNEL)
        build_s = time.perf_counter() - t0
        for v in args.top:
            row = {"method": f"{label}, top {v} videos", "aggregator": label, "V": v}
            row |= {"build_s": build_s, "coverage": built.coverage, **info}
            rows.append(row | evaluate(store, queries, targets, v))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


# ----------------------------------------------------------------------------- the end-to-end slice

E2E_SIZE, E2E_FPS = (64, 36), 2


def write_video(path: Path, scenes: list[Scene], seed: int) -> None:
    """A 64x36, 2 fps H.264 video: each scene a flat colour and a moving bar; an SRT sidecar with its text."""
    import fractions

    import av

    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, size=(len(scenes), 3))
    w, h = E2E_SIZE
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=E2E_FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = fractions.Fraction(1, E2E_FPS)
        n = int(scenes[-1].end * E2E_FPS)
        bounds = np.array([s.start for s in scenes])
        for i in range(n):
            j = int(np.searchsorted(bounds, i / E2E_FPS, side="right") - 1)
            img = np.empty((h, w, 3), np.uint8)
            img[...] = colours[j]
            img[:, (i * 3) % w : (i * 3) % w + 4] = 255 - colours[j]
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    lines = [
        f"{i + 1}\n{_srt(s.start + 0.5)} --> {_srt(s.end - 0.5)}\n{s.text}\n" for i, s in enumerate(scenes)
    ]
    path.with_suffix(".srt").write_text("\n".join(lines), encoding="utf-8")


def _srt(t: float) -> str:
    ms = round(t * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def e2e_slice(n: int, seed: int, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """N real 10-minute videos through VideoIndex.add, then the same evaluation on the stored segments."""
    from vrag.config import IndexConfig
    from vrag.index import VideoIndex
    from vrag.store import SegmentRecord, StoreSchema, VideoRecord, open_store, read_schema_record

    videos = make_corpus(n, seed + 7, min_min=10, max_min=10)
    folder = work / "e2e-videos"
    folder.mkdir()
    t0 = time.perf_counter()
    paths = [folder / f"talk{v:03d}.mp4" for v in range(n)]
    for v, (path, scenes) in enumerate(zip(paths, videos, strict=True)):
        write_video(path, scenes, seed + v)
    write_s = time.perf_counter() - t0
    config = IndexConfig(visual_encoders=(), ocr="off", asr="off", workers=0)
    t0 = time.perf_counter()
    with VideoIndex.open(work / "e2e-index", config) as index:
        report = index.add(paths, progress=False)
    ingest_s = time.perf_counter() - t0
    if report.failed:
        raise RuntimeError(f"e2e ingest failed: {report.failed}")
    record = read_schema_record(work / "e2e-index")
    assert record is not None
    src = StoreSchema(
        dense={k: (v["dim"], v["distance"]) for k, v in record["dense"].items()},
        sparse_text=bool(record["sparse"]), fingerprint=record["fingerprint"],
    )  # fmt: skip
    with (
        open_store(work / "e2e-index", schema=src) as index_store,
        open_bench_store(work / "e2e-c2f", 384) as store,
    ):
        by_path = {v.path: v.video_id for v in index_store.iter_videos()}
        n_segments = 0
        for video in index_store.iter_videos():
            segs = [
                s
                for s in index_store.iter_segments(video.video_id, with_vectors=True)
                if CHANNEL in s.vectors
            ]
            store.begin_video(video.video_id)
            n_segments += store.add_segments(
                SegmentRecord(s.video_id, s.video, s.start, s.end, {CHANNEL: s.vectors[CHANNEL]}, text=s.text)
                for s in segs
            )
            store.commit_video(VideoRecord(video.video_id, video.path, video.duration))
        store.optimize()
        picked = pick_queries(videos, args.e2e_queries, seed + 7)
        targets = [Target(by_path[str(paths[s.video].resolve())], (s.start + s.end) / 2) for s in picked]
        queries = minilm().encode_query([s.query() for s in picked])
        e2e_args = argparse.Namespace(**{**vars(args), "top": args.e2e_top})
        rows = run_aggregators(store, queries, targets, work / "e2e-agg", e2e_args)
    info = {"videos": n, "hours": sum(s[-1].end for s in videos) / 3600, "segments": n_segments}
    info |= {
        "scenes": sum(len(s) for s in videos),
        "queries": len(picked),
        "write_s": write_s,
        "ingest_s": ingest_s,
    }
    return {"info": info, "rows": rows}


# ----------------------------------------------------------------------------- main


def synthetic(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    videos = make_corpus(args.videos, args.seed)
    texts = sorted({s.text for v in videos for s in v})
    picked = pick_queries(videos, args.queries, args.seed)
    enc = minilm()
    t0 = time.perf_counter()
    vectors = dict(zip(texts, enc.encode_document(texts), strict=True))
    embed_s = time.perf_counter() - t0
    queries = enc.encode_query([s.query() for s in picked])
    targets = [Target(f"video{s.video:03d}", (s.start + s.end) / 2) for s in picked]
    with open_bench_store(work / "c2f", queries.shape[1]) as store:
        ingest_s = ingest_scenes(store, videos, vectors)
        rows = run_aggregators(store, queries, targets, work / "agg", args)
    segments = sum(len(v) for v in videos)
    hours = sum(v[-1].end for v in videos) / 3600
    info = {"videos": args.videos, "hours": hours, "segments": segments, "unique_texts": len(texts)}
    info |= {"queries": len(picked), "embed_s": embed_s, "ingest_s": ingest_s}
    return {"info": info, "rows": rows}


def table(title: str, result: dict[str, Any]) -> str:
    info = result["info"]
    head = f"### {title}\n\n" + ", ".join(
        f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items()
    )
    lines = [
        head,
        "",
        "| method | R@1 | R@5 | R@10 | answer video in top V | p50 ms | p95 ms | build s (train s) | cover |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        vh = f"{r['video_hit']:.3f}" if r.get("video_hit") is not None else "–"
        build = f"{r['build_s']:.1f} ({r['train_s']:.0f})" if "build_s" in r else "–"
        cov = f"{r['coverage']:.3f}" if r.get("coverage") is not None else "–"
        lines.append(
            f"| {r['method']} | {r['R@1']:.3f} | {r['R@5']:.3f} | {r['R@10']:.3f} | {vh} | "
            f"{r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {build} | {cov} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=120)
    p.add_argument("--queries", type=int, default=400)
    p.add_argument("--k", type=int, nargs="+", default=[8], help="video vectors per video (kmeans / lvmae)")
    p.add_argument("--top", type=int, nargs="+", default=[5, 10, 20], help="videos kept by the first stage")
    p.add_argument("--steps", type=int, default=300, help="lvmae training steps")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--masking", default="random", choices=["random", "semantic"])
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core box)")
    p.add_argument(
        "--e2e", type=int, default=0, help="also run N real 10-minute videos through VideoIndex.add"
    )
    p.add_argument("--e2e-queries", type=int, default=100)
    p.add_argument("--e2e-top", type=int, nargs="+", default=[2, 5])
    p.add_argument("--quick", action="store_true", help="skip the main corpus (with --e2e: only the slice)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    results: dict[str, Any] = {"command": " ".join(sys.argv)}
    with tempfile.TemporaryDirectory(prefix="vrag-c2f-") as tmp:
        if not args.quick or not args.e2e:
            results["synthetic"] = synthetic(args, Path(tmp))
        if args.e2e:
            results["e2e"] = e2e_slice(args.e2e, args.seed, Path(tmp), args)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    if "synthetic" in results:
        print(table("Long-video corpus (scene texts embedded directly)", results["synthetic"]) + "\n")
    if "e2e" in results:
        print(table("End-to-end slice (real videos through VideoIndex.add)", results["e2e"]))


if __name__ == "__main__":
    main()
