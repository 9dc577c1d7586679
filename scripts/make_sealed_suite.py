#!/usr/bin/env python3
"""Deterministic generator for the sealed toxic-comment test suite.

Standard library only, fixed seed, no network.  Running it writes
sealed_suite.csv and sealed_suite_spec.json into toxiclf/resources (or into the
folder given as its one argument); the CSV is reproducible byte for byte.

Written on 2026-12-07 by another author, who had never read the project's
training templates, augmentation files or the earlier suite's misses, from a
brief naming only the definition of toxic, the functionalities, the groups and
the topics (docs/sealed-suite.md). Frozen: results/sealed_suite.json records the
CSV's sha256, and toxiclf.evaluation.sealed_suite refuses any other file.
"""
import csv
import json
import os
import random
import re
import statistics
import sys
from collections import Counter, defaultdict

SEED = 20261207
HERE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "toxiclf", "resources")
CSV_PATH = os.path.join(HERE, "sealed_suite.csv")
SPEC_PATH = os.path.join(HERE, "sealed_suite_spec.json")

# --------------------------------------------------------------------------
# Groups: name, kind, plural surface forms, modifier form ("my {A} neighbour"),
# slurs aimed at the group (small standard set, some disguised), unprotected?
# --------------------------------------------------------------------------
GROUPS = [
    ("Muslims", "religion", ["Muslims", "Muslim people"], "Muslim", ["ragheads", "towelheads"], False),
    ("Jews", "religion", ["Jews", "Jewish people", "Jewish folk"], "Jewish", ["kikes", "k*kes", "yids"], False),
    ("Christians", "religion", ["Christians", "churchgoers", "Christian folk"], "Christian", [], False),
    ("Hindus", "religion", ["Hindus", "Hindu people"], "Hindu", [], False),
    ("Sikhs", "religion", ["Sikhs", "Sikh people"], "Sikh", [], False),
    ("Catholics", "religion", ["Catholics", "Catholic folk"], "Catholic", [], False),
    ("Buddhists", "religion", ["Buddhists"], "Buddhist", [], False),
    ("Polish people", "nationality", ["Polish people", "Poles", "Polish folk"], "Polish", ["polacks"], False),
    ("Nigerians", "nationality", ["Nigerians", "Nigerian people"], "Nigerian", [], False),
    ("Romanians", "nationality", ["Romanians", "Romanian people"], "Romanian", [], False),
    ("Pakistanis", "nationality", ["Pakistanis", "Pakistani people"], "Pakistani", ["pakis", "p*kis"], False),
    ("Chinese people", "nationality", ["Chinese people", "Chinese folk"], "Chinese", ["chinks", "ch1nks"], False),
    ("Mexicans", "nationality", ["Mexicans", "Mexican people"], "Mexican", ["wetbacks", "beaners"], False),
    ("Irish people", "nationality", ["Irish people", "Irish folk"], "Irish", [], False),
    ("Indians", "nationality", ["Indians", "Indian people"], "Indian", [], False),
    ("Black people", "ethnicity/race", ["Black people", "black people", "Black folks"], "Black", ["n*ggers", "n1ggers"], False),
    ("Roma", "ethnicity/race", ["Roma", "Roma people", "Romani people"], "Roma", ["gyppos", "pikeys"], False),
    ("Asian people", "ethnicity/race", ["Asian people", "Asians"], "Asian", [], False),
    ("Arabs", "ethnicity/race", ["Arabs", "Arab people"], "Arab", [], False),
    ("white people", "ethnicity/race", ["white people", "white folks"], "white", [], False),
    ("teenagers", "age", ["teenagers", "teens"], "teenage", [], False),
    ("old people", "age", ["old people", "pensioners", "OAPs", "elderly people"], "elderly", [], False),
    ("women", "gender", ["women", "ladies"], "female", ["bitches", "sluts"], False),
    ("men", "gender", ["men", "blokes", "fellas"], "male", [], False),
    ("trans people", "gender", ["trans people", "trans women", "trans men"], "trans", ["trannies", "tr*nnies"], False),
    ("gay people", "sexuality", ["gay people", "gay men"], "gay", ["faggots", "f*gs", "poofs"], False),
    ("lesbians", "sexuality", ["lesbians"], "lesbian", ["dykes"], False),
    ("bisexual people", "sexuality", ["bisexual people", "bi people"], "bisexual", [], False),
    ("disabled people", "disability", ["disabled people", "wheelchair users", "disabled folk"], "disabled", ["retards", "spastics", "spazzes"], False),
    ("autistic people", "disability", ["autistic people", "autistic adults"], "autistic", [], False),
    ("deaf people", "disability", ["deaf people", "Deaf people"], "deaf", [], False),
    ("immigrants", "other", ["immigrants", "migrants"], "immigrant", [], False),
    ("refugees", "other", ["refugees", "asylum seekers"], "refugee", [], False),
    # professions and other groups no law protects (toxic cases about them are abuse_unprotected_group)
    ("nurses", "profession", ["nurses", "NHS nurses", "agency nurses"], None, [], True),
    ("teachers", "profession", ["teachers", "supply teachers"], None, [], True),
    ("bus drivers", "profession", ["bus drivers", "night bus drivers"], None, [], True),
    ("accountants", "profession", ["accountants", "chartered accountants"], None, [], True),
    ("plumbers", "profession", ["plumbers"], None, [], True),
    ("lawyers", "profession", ["lawyers", "solicitors"], None, [], True),
    ("politicians", "profession", ["politicians", "MPs", "councillors"], None, [], True),
    ("estate agents", "profession", ["estate agents", "letting agents"], None, [], True),
    ("bankers", "profession", ["bankers", "investment bankers"], None, [], True),
    ("traffic wardens", "profession", ["traffic wardens", "parking wardens"], None, [], True),
    ("landlords", "other", ["landlords", "private landlords"], None, [], True),
    ("influencers", "other", ["influencers", "TikTok influencers"], None, [], True),
]

ALLKINDS = {"religion", "nationality", "ethnicity/race", "age", "gender", "sexuality",
            "disability", "other", "profession"}
# tag -> (kinds allowed, group names excluded, group names added)
TAGS = {
    "fam": ({"religion", "nationality", "ethnicity/race", "other"}, set(), set()),
    "rel": ({"religion"}, set(), set()),
    "eth": ({"nationality", "ethnicity/race"}, set(), set()),
    "nat": ({"nationality"}, set(), set()),
    "food": ({"nationality"}, set(), {"Jews", "Asian people", "Arabs"}),
    "kid": ({"religion", "nationality", "ethnicity/race", "other", "disability"}, set(), set()),
    "adult": (ALLKINDS, {"teenagers"}, set()),
    "noage": (ALLKINDS - {"age"}, set(), set()),
}

NAMES = ["Dave", "Priya", "Kev", "Sandra", "Tom", "Jess", "Callum", "Gary", "Lucy",
         "Raj", "Becky", "Shaun", "Nadia", "Marcus", "Chloe", "Ollie", "Fiona", "Dean"]

TOPICS = [
    "home", "neighbours", "work", "school", "university", "hiring", "pay", "health",
    "hospital", "sport", "food", "cooking", "family", "weddings", "friendship",
    "religion", "holidays", "news", "history", "law", "travel", "shopping", "music",
    "film", "gaming", "weather", "transport", "housing", "money", "volunteering",
    "pets", "gardening", "technology", "science", "elections", "military",
    "retirement", "childcare", "fashion", "language_learning", "restaurants",
    "reading", "art", "parenting", "moving_house", "sports_clubs", "emergencies",
    "online", "pub",
]
RESERVED_TOPICS = ["gardening", "weddings", "pets", "weather", "military", "fashion",
                   "emergencies", "reading", "art", "moving_house",
                   "language_learning", "sports_clubs"]

FUNCTIONALITIES = {
    "everyday_mention": (0, "benign sentence naming a group in an everyday context, neutral or positive"),
    "negated_hate": (0, "a hateful claim that is negated or denied"),
    "counter_speech": (0, "hate quoted or referred to in order to oppose it; slurs discussed as words"),
    "derogation_explicit": (1, "negative attributes stated as fact"),
    "derogation_dehumanising": (1, "comparison to animals, vermin, disease, filth"),
    "derogation_implicit": (1, "contempt without slurs or swearing: condescension, insinuation, backhanded"),
    "threat": (1, "threats, wishes or calls for harm, exclusion or expulsion"),
    "slur": (1, "a slur aimed at a person or group"),
    "hateful_question": (1, "contempt phrased as a question"),
    "hateful_opinion": (1, "contempt phrased as an opinion (imo, honestly, I reckon)"),
    "abuse_individual": (1, "insult or threat aimed at a specific person"),
    "abuse_unprotected_group": (1, "abuse of a group no law protects (lawyers, landlords, ...)"),
    "disguised": (1, "toxic sentence with disguised spelling"),
}

# --------------------------------------------------------------------------
# Claims: func | topic | claim | negated claim ("-" = only external negation)
# --------------------------------------------------------------------------
CLAIMS_TXT = r"""
derogation_explicit | law | {P} are crooked to the bone | {P} aren't crooked to the bone
derogation_explicit | shopping | {P} pinch anything that isn't nailed down | {P} don't pinch anything that isn't nailed down
derogation_explicit | money | {P} sponge off the taxman and laugh about it | {P} don't sponge off the taxman and laugh about it
derogation_explicit | home | {P} keep their houses like rubbish tips | {P} don't keep their houses like rubbish tips
derogation_explicit | school | {P} have the brains of a doorknob | {P} don't have the brains of a doorknob
derogation_explicit | news | {P} lie through their teeth, always | {P} don't lie through their teeth, ever
derogation_explicit | news | {P} start every punch-up in town | {P} don't start the punch-ups in town
derogation_explicit | parenting | {P} neglect their kids something rotten | {P} don't neglect their kids
derogation_explicit | money | {P} will fleece you the second you blink | {P} won't fleece you the second you blink
derogation_explicit | neighbours | {P} drag every street downhill | {P} don't drag streets downhill
derogation_explicit | health | {P} clog up A&E with rubbish complaints | {P} don't clog up A&E with rubbish complaints
derogation_explicit | hiring:fam | {P} pinch jobs off hardworking locals | {P} don't pinch jobs off hardworking locals
derogation_explicit | elections | {P} rot this country from the inside | {P} don't rot this country from the inside
derogation_explicit | work | {P} are too dim to keep a job | {P} aren't too dim to keep a job
derogation_explicit | childcare | {P} are dangerous round little kids | {P} aren't dangerous round little kids
derogation_explicit | university | {P} buy their degrees and cheat the rest | {P} don't buy their degrees or cheat the rest
derogation_explicit | transport | {P} drive like drunk maniacs | {P} don't drive like drunk maniacs
derogation_explicit | military | {P} bolt at the first sound of gunfire | {P} don't bolt at the first sound of gunfire
derogation_explicit | housing | {P} trash every flat they rent | {P} don't trash the flats they rent
derogation_explicit | food | {P} cook in grim, unwashed kitchens | {P} don't cook in grim, unwashed kitchens
derogation_explicit | friendship | {P} would knife a mate in the back for a fiver | {P} wouldn't knife a mate in the back for a fiver
derogation_explicit | pay | {P} grab every penny going and give nothing back | {P} don't grab every penny going and give nothing back
derogation_explicit | sport | {P} cheat at every sport going | {P} don't cheat at every sport going
derogation_explicit | law | {P} are perverts, plain and simple | {P} aren't perverts, plain and simple
derogation_explicit | travel | {P} make foul, rude tourists | {P} don't make foul, rude tourists
derogation_explicit | work | {P} skive every shift they get | {P} don't skive every shift they get
derogation_dehumanising | housing | {P} belong down the sewer with the other vermin | {P} aren't sewer vermin, they're people
derogation_dehumanising | neighbours | {P} scurry round like sewer rats | {P} don't scurry round like sewer rats
derogation_dehumanising | health | {P} carry disease like rats do | {P} don't carry disease like rats do
derogation_dehumanising | family | {P} churn out kids like rabbits in a hutch | {P} don't churn out kids like rabbits in a hutch
derogation_dehumanising | home | {P} crawl about like cockroaches | {P} don't crawl about like cockroaches
derogation_dehumanising | law | {P} behave like rabid dogs | {P} don't behave like rabid dogs
derogation_dehumanising | money | {P} latch on like ticks and suck us dry | {P} don't latch on like ticks and suck us dry
derogation_dehumanising | elections | {P} fester like a tumour in this nation | {P} don't fester like a tumour in this nation
derogation_dehumanising | home | {P} reek like an open sewer | {P} don't reek like an open sewer
derogation_dehumanising | health | {P} spread like plague through every town | {P} don't spread like plague through every town
derogation_dehumanising | housing | {P} wallow like pigs in muck | {P} don't wallow like pigs in muck
derogation_dehumanising | travel:fam | {P} pour in like locusts | {P} don't pour in like locusts
derogation_dehumanising | neighbours | {P} infest every estate like mould | {P} don't infest estates like mould
derogation_dehumanising | pay | {P} suck the country dry like leeches | {P} don't suck the country dry like leeches
derogation_dehumanising | science | {P} sit closer to apes than humans | {P} don't sit closer to apes than humans
derogation_dehumanising | food | {P} eat like hogs at a trough | {P} don't eat like hogs at a trough
derogation_dehumanising | gardening | {P} creep like knotweed and choke everything | {P} don't creep like knotweed and choke everything
derogation_implicit | neighbours | {P} will do on the far side of the river, nowhere else | -
derogation_implicit | hiring | {P} only ever get hired to fill a quota | -
derogation_implicit | work | {P} are only fit to mop floors | -
derogation_implicit | school | {P} just aren't as bright as normal folk | {P} are every bit as bright as anyone
derogation_implicit | elections:fam | {P} should thank their lucky stars we let them stay | -
derogation_implicit | family | {P} are best kept quiet and hidden away | -
derogation_implicit | university | {P} don't really belong at a good uni | {P} belong at a good uni as much as anyone
derogation_implicit | work | {P} can't keep up, bless them, not their fault | -
threat | law:fam | {P} need slinging out of this country | {P} aren't going anywhere, this is their home
threat | neighbours | {P} could do with a good hiding | nobody should give {P} a hiding
threat | neighbours | {P} need hounding out of town | nobody should hound {P} out of town
threat | law | {P} need locking up and the key binning | there's no call to lock {P} up
threat | travel:fam | {P} belong on the next boat home | {P} belong right here, not on a boat home
threat | school | {P} need barring from classrooms | barring {P} from classrooms would be plain wrong
threat | news | {P} need stringing up | nobody should string {P} up
threat | housing | {P} need their houses torching | nobody should torch the houses of {P}
threat | sport | {P} need banning from every club in the county | banning {P} from any club in the county would be wrong
threat | emergencies | {P} can drown in the next flood for all I care | no way should {P} drown in the next flood
threat | elections | {P} need stripping of the vote | nobody should strip {P} of the vote
"""

QUESTIONS_TXT = r"""
home | what makes {P} so filthy?
family | how come {P} churn out kids like rabbits?
elections | who decided {P} get a vote?
childcare | how are {P} let anywhere near kids?
neighbours | who keeps letting {P} into this area?
money | how long till {P} stop leeching off decent folk?
news | is there anything {P} don't ruin?
work | can {P} do a single thing right?
law | has anyone ever caught {P} telling the truth?
shopping | is it just me or are {P} all thieves?
health | how do {P} put up with their own stink?
travel:fam | when are {P} clearing off home?
school | are {P} too thick to learn anything?
"""

# (toxic wrapper, benign wrapper, toxic functionality override, needs N, topic override)
NEG_WRAPPERS = [
    ("{C}", "{N}", None, True, None),
    ("{C}, full stop", "{N}, full stop", None, True, None),
    ("straight up, {C}", "straight up, {N}", None, True, None),
    ("the truth is {C}", "the truth is {N}", None, True, None),
    ("for the record, {C}", "for the record, {N}", None, True, None),
    ("yes, {C}", "no, {N}", None, True, None),
    ("not being funny but {C}", "not being funny but {N}", None, True, None),
    ("{C} and everybody on our road knows it", "{N} and everybody on our road knows it", None, True, "neighbours"),
    ("imo {C}", "imo {N}", "hateful_opinion", True, None),
    ("personally I reckon {C}", "personally I reckon {N}", "hateful_opinion", True, None),
    ("I'm dead certain {C}", "I'm dead certain {N}", "hateful_opinion", True, None),
    ("it's a fact that {C}", "it's a myth that {C}", None, False, None),
    ("I'd tell anyone that {C}", "I'd never tell anyone that {C}", None, False, None),
    ("my dad always said {C}, and he was right", "my dad always said {C}, but he was wrong", None, False, "family"),
    ("everyone at the pub agrees {C}", "nobody at the pub believes {C}", None, False, "pub"),
    ("I've always believed {C}", "I've never once believed {C}", "hateful_opinion", False, None),
    ("our vicar says {C}, and he's right", "our vicar says it's a lie that {C}", None, False, "religion"),
]

# (toxic wrapper, counter-speech wrapper, toxic override, topic override)
COUNTER_WRAPPERS = [
    ("my uncle says {C} and honestly he's right", "my uncle says {C} and honestly it's hateful rubbish", None, "family"),
    ("someone sprayed \"{C}\" on the bus shelter and they've got a point", "someone sprayed \"{C}\" on the bus shelter, so we scrubbed it off", None, "neighbours"),
    ("that post saying {C} is spot on", "that post saying {C} is hate and I've reported it", None, "online"),
    ("a guy at work said {C} and I backed him up", "a guy at work said {C}, so HR heard about it from me", None, "work"),
    ("the leaflet says {C}, finally some honesty", "the leaflet says {C}, pure bigotry, straight in the bin", None, "elections"),
    ("my nan keeps saying {C} and she's not wrong", "my nan keeps saying {C} and I keep telling her it's prejudice", None, "family"),
    ("the comments under that video say {C}, and they're right", "the comments under that video say {C}, which is just hate", None, "online"),
    ("our coach said {C}, good on him", "our coach said {C} and got sacked for it, rightly", None, "sports_clubs"),
    ("heard fans chanting {C} today and joined in", "heard fans chanting {C} today, disgraceful, reported it", None, "sport"),
    ("the headline says {C} and I'm sharing it", "the headline says {C} and I've complained to the paper", None, "news"),
    ("imo {C}", "imo saying {C} is just bigotry", "hateful_opinion", None),
    ("honestly, I'm convinced {C}", "honestly, \"{C}\" is a hateful lie", "hateful_opinion", None),
    ("the best man said {C}, best line of the night", "the best man said {C} and half the room rightly walked out", None, "weddings"),
    ("that book argues {C}, and it makes a great case", "that book shows how the lie that {C} spread", None, "reading"),
    ("a sign at the allotments said {C}, and fair enough", "a sign at the allotments said {C}, so we took it down", None, "gardening"),
    ("our history teacher said {C}, and he's right", "our history teacher showed how \"{C}\" was used as propaganda", None, "history"),
    ("my flatmate reckons {C} and I agree with her", "my flatmate reckons {C} and I've told her it's bigoted", None, "friendship"),
]

QUESTION_WRAPPERS = [
    ("{Q}", "\"{Q}\" isn't a question, it's plain bigotry", "online"),
    ("genuine question: {Q}", "my cousin asked \"{Q}\" and I told him that's bigoted", "family"),
    ("{Q} asking for a friend", "someone asked \"{Q}\" on the school page and the mods rightly deleted it", "online"),
    ("honest question, {Q}", "can we stop asking \"{Q}\"? it's just prejudice", "online"),
]

# --------------------------------------------------------------------------
# Direct minimal pairs: topic[:tag] | toxic || benign everyday twin
# --------------------------------------------------------------------------
DIRECT = {}
DIRECT["derogation_explicit"] = r"""
work | {P} at my work are lazy and useless || {P} at my work are hard grafters
hiring | we took on two {P} last year and both were lying crooks || we took on two {P} last year and both were brilliant
neighbours:fam | the {A} family next door are filthy and rude || the {A} family next door are friendly and kind
school:kid | the {A} kids in my son's class are thick as planks || the {A} kids in my son's class are lovely and bright
shopping:eth | {A} shopkeepers on our high street are crooks || {A} shopkeepers on our high street are sweethearts
housing | renting to {P} was a mistake, they trashed the place || renting to {P} was great, they left it spotless
university | {A} students only pass because they cheat || {A} students in my seminar work incredibly hard
sport | {A} players are dirty cheats, every one || {A} players in our league are fair and skilful
gaming | {A} gamers are the most pathetic losers online || {A} gamers in our guild are great teammates
pay | the depot's {P} are grasping little crooks || the depot's {P} are getting a pay rise
"""
DIRECT["derogation_dehumanising"] = r"""
housing:fam | the {A} family upstairs live like pigs in a sty || the {A} family upstairs keep the stairwell spotless
neighbours | our estate is crawling with {P}, like rats || our estate is buzzing with {P}, like a village fete
gardening | {P} are weeds choking this town || {P} planted the flower beds in this town
pets | {P} act like stray dogs, feed them once and they never leave || {P} feed the stray dogs at the shelter every morning
health | {P} spread through the town like an infection || {P} run the health clinic in the town centre
weather | {P} descend on the beach like flies every summer || {P} set up the beach cafe every summer
transport | the bus was a cattle truck of {P} again || the bus was a party of {P} again, off to the match
moving_house | we sold up because {P} had infested the whole road || we sold up and moved nearer {P} from our church
food | feeding {P} is like feeding hogs || I love my soup kitchen shifts feeding {P}
"""
DIRECT["derogation_implicit"] = r"""
work:adult | our new {A} colleague is actually quite clean, for one of them || our new {A} colleague is really funny, we get on great
housing | we got a nice house, and no {P} within a mile yet || we got a nice house, and loads of {P} within a mile, love it
hiring | we can't take on {P}, the customers wouldn't like it || we just took on two {P}, the customers love them
neighbours | funny how bikes went walkabout the week {P} arrived || funny how the street perked up the week {P} arrived
hospital:adult | a {A} doctor? I'll wait for a proper one thanks || a {A} doctor? great, they were brilliant last time
university | fair play to {P} for even trying university || the uni open day had loads of {P} this year, love it
fashion | nice to see {P} making an effort to look normal for once || nice to see {P} making an effort at the fancy dress party
neighbours | {P} can come, provided they know their place || {P} can come, provided they bring cake
friendship | shame about our {A} neighbour, they seemed almost normal || shame about our {A} neighbour, they're moving away next month
school:kid | decent marks for a {A} kid, to be fair || full marks to the {A} kid who won the spelling bee
elections | {P} voting? best to leave the big decisions to the grown-ups || {P} voting? best to register before the deadline
work | let the {P} do the cleaning, it's what they're good for || let the {P} do the catering, they won the chilli contest
parenting | you'd hardly guess those kids were raised by {P}, they're polite || those kids were raised by {P} and they're so polite
language_learning:fam | our {A} neighbour speaks decent English, surprisingly || our {A} neighbour speaks decent Welsh after six months of lessons
restaurants:food | the waiters here are {A}, so check your change twice || the waiters here are {A}, so ask them what's good
sports_clubs | since the club let {P} join, standards have slipped || since the club let {P} join, membership has doubled
"""
DIRECT["threat"] = r"""
shopping:food | someone should torch the {A} bakery on Mill Road || someone should review the {A} bakery on Mill Road
neighbours | if {P} move onto our road I'll make them regret it || if {P} move onto our road I'll bake them a welcome cake
news | {P} had better stay home Saturday, we'll be waiting with bats || {P} had better come along Saturday, we'll be waiting with banners
housing | we need to clear {P} off this estate for good || we need to get {P} onto the estate committee for good
sport | line {P} up against the wall || line {P} up for the team photo
neighbours:fam | the next {A} family to move in gets a brick through the window || the next {A} family to move in gets a card through the door
emergencies:fam | if the {A} house catches fire, let it burn || if the {A} house catches fire, call me first
military | send {P} to the front line first, no loss || {P} served on the front line first, no fuss
weather | hope the flood sweeps the {P} down by the river clean away || hope the flood spares the {P} down by the river
travel | chuck {P} off the plane mid-flight || offer {P} the spare seats on the plane
religion:rel | somebody should smash up the {A} community centre tonight || somebody should visit the {A} community centre tonight, it's open house
"""
DIRECT["hateful_opinion"] = r"""
school | imo keep {P} well away from classrooms || imo get {P} into classrooms, they're ace assistants
weddings | honestly {P} spoil any wedding they're invited to || honestly {P} brighten up any wedding they're invited to
housing | tbh {P} make tenants from hell || tbh {P} make tenants from heaven
elections | speaking for myself, {P} drag this country through the mud || speaking for myself, {P} do this country proud
work | my honest take: hiring {P} drags any office down || my honest take: hiring {P} lifts any office up
neighbours | unpopular opinion but {P} are pure poison || unpopular opinion but {P} make the best neighbours
sports_clubs | if anyone's wondering, the gym went downhill once {P} took it over || if anyone's wondering, the gym improved once {P} took it over
music | honestly seeing {P} out and about turns my stomach || honestly seeing {P} out and about with the brass band made my day
art | imo {P} couldn't paint a fence, zero talent || imo {P} painted the best murals in the city
film | honestly every film starring {P} makes me gag || honestly every film starring {P} makes me cry happy tears
"""
DIRECT["hateful_question"] = r"""
holidays | how come {P} wreck the festival every year? || how come {P} win the festival bake-off every year?
sports_clubs | who on earth let {P} join the golf club? || who signed {P} up for the golf club?
transport | how come {P} stink out the whole bus? || how come {P} ride the bus free on Sundays?
gardening | can {P} do anything right? || can {P} join the allotment society?
work | how on earth are {P} this hopeless at everything? || how on earth are {P} this good at organising everything?
neighbours:fam | name one {A} person round here who isn't a crook || name one {A} person round here who sits on the council
neighbours:fam | how are {A} neighbours this filthy? || how are {A} neighbours this generous?
holidays | do {P} actually wash or nah || do {P} actually get the day off or nah
elections | why should {P} get a vote at all? || what date can {P} register to vote by?
pets | how come {P} treat their kids worse than dogs? || how come {P} take their dogs to the beach café?
news | what is wrong with {P}, seriously? || what is the deal with {P} and cricket, seriously?
hospital | why does the NHS waste beds on {P}? || why does the NHS recruit {P} as ward volunteers?
"""
DIRECT["abuse_unprotected_group"] = r"""
housing | {P} are bloodsucking parasites || {P} have been fair and helpful to us
money | {P} are greedy pigs, every one || {P} are generous donors, every one
news | {P} are the lowest form of life || {P} are the backbone of this town
work | {P} are brainless morons || {P} are brilliant at what they do
online | honestly {P} are smug useless wankers || honestly {P} are patient, useful people
volunteering | {P} are vultures picking at the poor || {P} are volunteers helping at the food bank
neighbours | the {P} round here are a pack of crooks || the {P} round here are a friendly bunch
elections | {P}: spineless, greedy and dumb || {P}: patient, kind and clever
law | {P} deserve every bit of abuse they get || {P} deserve every bit of praise they get
pay | {P} are overpaid scum || {P} are underpaid heroes
friendship | my cousin works with {P} and says they're all snakes || my cousin works with {P} and says they're all sound
holidays | hope {P} have a miserable christmas, they deserve it || hope {P} have a lovely christmas, they deserve it
emergencies | if {P} are stuck in a flood, leave them || if {P} are stuck in a flood, help them first
weather | {P} can rot out in the rain for all I care || {P} can shelter in our porch if it rains
food | {P} are fat hogs at the trough || {P} brought the food for the street party
technology | {P} are clueless dinosaurs, useless || {P} are clued-up and helpful with tech
film | {P} are the slimiest creeps on telly || {P} are the funniest characters on telly
retirement | {P} should be worked till they drop dead || {P} should be able to retire at sixty
moving_house | {P} are leeches who bled us dry when we moved || {P} were lifesavers when we moved
sport | {P} are thick, cheating rats to a man || {P} are fit, cheerful runners to a man
military | {P} are gutless parasites || {P} are ex-forces, a lot of them
reading | every book about {P} should end with them in the gutter || every book about {P} should be this well researched
"""
DIRECT["slur"] = r"""
neighbours | the {S} next door had a party again || the {P} next door had a party again
travel | the beach today was heaving with {S} || the beach today was heaving with {P}
shopping | {S} are running the corner shop now || {P} are running the corner shop now
family | my sister is marrying into a family of {S} || my sister is marrying into a family of {P}
transport | the post office queue was me and two {S}, for ages || the post office queue was me and two {P}, for ages
housing | the council gave the new flats to {S} || the council gave the new flats to {P}
sport | half the squad are {S} now || half the squad are {P} now
pub | the {S} won the pub quiz again || the {P} won the pub quiz again
holidays | {S} everywhere in town for the festival || {P} everywhere in town for the festival
work | accounts just took on three more {S} || accounts just took on three more {P}
school | the school governors now include {S} || the school governors now include {P}
music | the band is all {S} apparently || the band is all {P} apparently
weddings | the wedding was packed with {S} || the wedding was packed with {P}
gaming | our raid team is mostly {S} || our raid team is mostly {P}
fashion | the fashion show was packed with {S} || the fashion show was packed with {P}
volunteering | on Tuesdays the food bank is staffed by {S} || on Tuesdays the food bank is staffed by {P}
"""

SLUR_SINGLE_TXT = r"""
online | shut up you {S}, nobody asked
gaming | get off the server, {S}
neighbours | keep your {S} kids off my drive
work | the {S} in accounts can do the overtime
pub | go drink somewhere else, {S}
online | typical {S}, whining again
transport | move down the bus, you {S}
"""

SLUR_COUNTER_TXT = r"""
online | "{S}" is a slur, please don't use it in this group chat
family | my grandad still says "{S}" and I keep pulling him up on it
school | a kid called classmates "{S}" and the school rightly suspended him
news | the MP who called people "{S}" on camera should resign
language_learning | our English teacher explained why "{S}" counts as a slur, never okay
history | the word "{S}" has an ugly history, don't use it
sport | fans shouting "{S}" at players got lifetime bans, good
"""

INDIVIDUAL_TXT = r"""
online | you're a brain-dead muppet, log off
online | {N}, you absolute waste of oxygen
work | my manager {N} is a spineless little weasel
sport | the ref today was a blind, clueless clown
online | shut up, nobody asked you, you smug prick
online | you are the thickest person on this whole forum
work | {N} from HR is a vile old toad
gaming | uninstall the game, {N}, you useless trash
gaming | {N} you're so bad at this, pathetic loser
school | {N} is an ugly little freak and everyone knows it
friendship | {N}, you're a two-faced snake and a rotten friend
family | my in-law {N} is a lazy, lying slob
neighbours | {N} at number 12 is a nasty, petty bully
music | the singer tonight was a talentless screeching cow
film | that director is a pretentious hack with zero talent
online | go cry somewhere else, {N}, you pathetic snowflake
online | {N} you're a moron and your posts are garbage
housing | our landlord {N} is a greedy, useless slug
online | hope you fall down the stairs, {N}
online | {N}, I'll find you and smash your face in
work | we've never had an intern as dumb as {N}
restaurants | the waiter last night was a rude ignorant pig
shopping | the cashier was a miserable cow and a total dead loss
transport | the taxi driver was a thieving scumbag
gaming | {N} is a cheating little rat, ban the account
online | your mum should have left you at the hospital, freak
news | that presenter is a smug, lying weasel
elections | councillor {N} is a corrupt idiot who belongs in jail
friendship | {N} is a clingy pest and we're all sick of it
parenting | the mum at the school gate is a stuck-up cow
sport | our striker {N} is a lazy donkey, sell him
sports_clubs | the club captain {N} is a bullying thug
pets | the dog walker is a careless idiot who shouldn't own a goldfish
weddings | {N}, the bride's cousin, is a drunk, spiteful menace
fashion | {N}, you look like a sack of spuds, hideous
art | your paintings are garbage, {N}, and so are you
reading | that author is a pompous fraud and a crashing bore
gardening | my neighbour {N} is a petty, vindictive old goat
moving_house | {N} from the removals firm was a thieving lying oaf
weather | the weatherman is a useless clown, wrong again
military | my old sergeant {N} was a sadistic bully and a coward
emergencies | the call handler was a rude, useless moron
language_learning | my tutor {N} is an arrogant, sneering twit
technology | {N} in IT is a lazy idiot who can't fix a printer
health | the receptionist {N} is a nasty old dragon
online | {N} is a pathetic attention-seeking loser
school | {N}, you stupid clown, slither back to your swamp
pub | {N} behind the bar is a greasy little creep
"""

# --------------------------------------------------------------------------
# Unpaired everyday mentions: topic[:tag][:only=group] | text
# --------------------------------------------------------------------------
EVERYDAY_TXT = r"""
home | our boiler died on a Sunday and my {A} neighbour had it going in an hour
home | the bin rota got sorted by {P} from number 14
neighbours | my {A} neighbour waters our plants when we're away
neighbours | the {P} at number 40 threw a great street party
neighbours:fam | the {A} family next door brought round a curry
neighbours | had a long chat with my {A} neighbour about fences
work:adult | my {A} coworker brought samosas for the whole team
work:adult | our team lead is {A} and runs the best meetings
work | {P} in the warehouse got the Christmas rota sorted
work:adult | the {A} receptionist always remembers birthdays
school:kid | my daughter's {A} classmate invited her for a sleepover
school | the school is running a project on {P} in our town
school:noage | two {A} parents run the school fete every year
university | our {A} flatmate is studying engineering
university | the uni has a society for {P}, they meet on Thursdays
university:adult | my {A} tutor gave me really useful feedback
hiring | we're hiring, and {P} are very welcome to apply
hiring | the job fair had a stand run by {P}
hiring | our {A} applicant smashed the interview
pay | {P} in our union got a fair pay deal this year
pay:adult | my {A} colleague helped me ask for a raise
health:adult | my {A} GP is the most patient doctor I know
health | the clinic has a support group for {P} on Mondays
health | {P} ran the blood donation drive at the library
hospital:only=nurses | the {P} on ward 6 were amazing with my dad
hospital:adult | the {A} porter at the hospital made my gran laugh
hospital | the hospital radio is run by {P} from the village
sport | the {A} striker scored twice on Saturday
sport | {P} from the running club did the half marathon
sport | our Sunday league team has three {A} players
food:food | are there any good {A} bakeries near Leeds?
food:food | {A} street food at the market is unreal
food | {P} ran the barbecue at the summer fair
cooking:food | my {A} friend taught me to make proper dumplings
cooking:food | learning to cook {A} dishes from a YouTube channel
cooking | {P} from the Oak Street centre did a cooking class
family:noage | my {A} in-laws are coming for Sunday lunch
family:fam | grew up with loads of {A} cousins, best summers ever
family:fam | my aunt wed an {A} fella last spring, so happy for them
weddings:fam | went to my first {A} wedding, the food was incredible
weddings | the {A} couple we met at the reception were hilarious
weddings | half the guests at the wedding were {P} from the bride's work
weddings:fam | the {A} bride wore the most beautiful dress
weddings | the best man's speech mentioned the {P} in the choir
friendship | my best mate is {A} and we've known each other since nursery
friendship | made friends with some {P} at the climbing wall
friendship | my {A} friend sent me a birthday card from abroad
religion:rel | down the end of our road {P} are celebrating tonight
religion:rel | our {A} neighbours invited us to their festival
religion:rel | visited a {A} place of worship on the heritage open day
religion:rel | the {A} community is holding an interfaith breakfast
holidays:rel | wishing all {P} a peaceful holiday season
holidays:fam | the {A} family over the road put up amazing lights
holidays | spent the bank holiday with some {P} from the choir
news | local {P} raised ten grand for the children's ward
news | the paper ran a nice feature on {P} in the valley
news:kid | a {A} teenager won the county science prize
history | the museum has a new exhibition on {P} in the 1900s
history:fam | my grandad told stories about {A} soldiers he served with
history | reading about how {P} built the old mills here
law:adult | my {A} solicitor sorted our will out in a week
law | the new equality law covers {P} too
travel:eth | planning a trip to see where my {A} grandparents grew up
travel | met some lovely {P} on the ferry to Dublin
travel:adult | the tour guide was {A} and knew every street
shopping:adult | the {A} tailor on the high street fixed my coat
shopping | the charity shop is run by {P} on Saturdays
shopping:food | the {A} supermarket has the best spices
music | saw an {A} singer at the folk festival, stunning voice
music | the brass band is mostly {P} these days
music:adult | my {A} guitar teacher is so patient
film | watched a great documentary about {P} last night
film | the film has a brilliant {A} lead actor
gaming | our guild has a few {P} and they're brilliant
gaming | my {A} mate carried me through the last boss
weather | {P} at the bus stop shared their umbrella with me
weather | my {A} neighbour cleared the snow off our path
weather | it's chucking it down but the {P} still turned up for the fun run
weather:adult | a {A} farmer told me the frost is coming early
transport:only=bus drivers | the {P} on the 42 route are always cheerful
transport | a {A} passenger helped me with my pram
transport:adult | my {A} driving instructor got me through first time
housing:adult | our {A} landlord fixed the damp straight away
housing | the housing co-op has loads of {P} in it
money:adult | my {A} accountant friend did my tax return
money | {P} set up a credit union in our town
money | an {A} mate lent me a tenner at the chippy
volunteering | {P} from the mosque and the church cleaned up the park
volunteering | the food bank is mostly run by {P}
volunteering | my {A} neighbour volunteers at the hospice
pets | my {A} neighbour looks after our cat when we're away
pets:adult | the vet we see is {A} and so gentle with the dog
pets | met some {P} at the dog park, lovely chat
pets | the {P} down the road have the cutest puppy
gardening | got tomato seedlings off my {A} neighbour, already flowering
gardening | the allotment society has lots of {P} now
gardening | {P} planted the wildflower strip by the station
gardening | an {A} gardener showed me how to prune roses
technology:adult | laptop was dead, my {A} colleague revived it in ten minutes
technology | the library runs phone classes for {P}
technology:adult | an {A} engineer built the app we use at work
science:adult | the lab has two {A} researchers working on vaccines
science | a talk on {P} in science history at the museum
elections | {P} were out canvassing on both sides this weekend
elections | the polling station was staffed by {P}
elections:adult | my {A} neighbour's standing for parish council, got my vote
military:fam | my grandad served alongside {A} soldiers in the navy
military | the memorial lists {P} who served from our town
military:noage | my {A} cousin just joined the army reserves
military | the veterans' breakfast had lots of {P} this year
retirement:adult | my {A} neighbour just retired after forty years
retirement | the retirement village has a club for {P}
retirement:only=old people | learned dominoes off the {P} down the day centre
childcare:adult | the kids adore our {A} childminder
childcare:adult | the nursery has two {A} staff and they're great
childcare | {P} at toddler group swapped baby clothes with us
fashion | my {A} friend makes all their own clothes
fashion | the fashion show featured designers who are {P}
fashion:adult | an {A} tailor took up my wedding suit
language_learning | my {A} language partner is helping my Spanish
language_learning | {P} at the conversation club are so patient with beginners
language_learning:nat | learning {A} phrases before we visit
restaurants:food | the new {A} restaurant on King Street is fab
restaurants:adult | the {A} chef at our local absolutely killed it tonight
restaurants | a table of {P} next to us sent over dessert
reading:adult | reading a memoir by an {A} nurse, can't put it down
reading | the book club has a few {P} and the chats are great
reading | my {A} friend recommended a cracking thriller
art | the gallery has a show by {A} painters
art | {P} painted the mural by the canal
art | my {A} neighbour does pottery classes
parenting:noage | swapping parenting tips with the {A} parents at the park
parenting | {P} at the school gate organised the lift share
parenting | my {A} cousin passed on their old buggy to us
moving_house | our {A} neighbours helped us carry the sofa in
moving_house | moving next to {P} and they've already waved hello
moving_house:noage | the {A} removals team were so careful
sports_clubs | the cricket club has a big group of {P}
sports_clubs | my {A} teammate set up the five-a-side
sports_clubs | {P} run the junior swimming club on Fridays
emergencies | my {A} neighbour called the ambulance when gran fell
emergencies | {P} helped sandbag the houses during the flood
emergencies:adult | the {A} paramedic stayed calm the whole time
emergencies | the first-aid course was led by {P}
online | the forum has a friendly thread for {P}
online | followed a few {A} creators who post recipes
pub | the pub quiz team is half {P}
pub | had a pint with an {A} regular who knew loads about trains
home | bloody hell, my {A} neighbour just mowed my lawn for me
work:adult | my {A} coworker swears like a sailor but covers every shift
sport | damn, the {A} keeper pulled off a great save
transport:adult | the train was late as hell but the {A} guard was lovely
weather | it's freezing as f*** but the {P} still ran the parkrun
neighbours | what the hell, best garden prize went to {P} from number 9
cooking | my {A} flatmate's chilli is insanely good, I nearly cried
gaming | holy crap, the {A} streamer speedran it in an hour
food | are {P} fasting this month? want to bring the right snacks
religion:rel | do {P} celebrate anything this week? want to send a card
school:adult | my son wants to know if any teachers at his school are {A}
hospital | does the hospital have a chaplain for {P}?
travel:food | anyone been to the {A} quarter in Manchester? worth a visit?
housing | is the new housing scheme open to {P}?
school:only=teachers | the {P} at my kids' school put on a brilliant play
money:only=accountants | {P} at the firm sorted my tax mess for free
home:only=plumbers | two {P} came out on Christmas Eve to fix our leak
law:only=lawyers | the legal clinic's {P} help people for free
elections:only=politicians | met two {P} at the hustings, both very polite
housing:only=estate agents | the {P} found us a flat in a day
money:only=bankers | chatted to some {P} at the charity quiz, good laugh
transport:only=traffic wardens | the {P} gave my nan directions to the hospital
housing:only=landlords | the {P} we rent from are really decent
online:only=influencers | some {P} raised money for the local hospice
retirement:only=nurses | two retired {P} run the first-aid stall at the fete
hospital:only=nurses | the night {P} held my hand the whole time
"""


def parse_lines(block, n_fields):
    out = []
    for raw in block.strip("\n").split("\n"):
        raw = raw.strip()
        if not raw:
            continue
        parts = [p.strip() for p in raw.split(" | ", n_fields - 1)]
        assert len(parts) == n_fields, raw
        out.append(parts)
    return out


def parse_topic(t):
    tag, only = None, None
    bits = t.split(":")
    topic = bits[0]
    for b in bits[1:]:
        if b.startswith("only="):
            only = b[5:]
        else:
            tag = b
    assert topic in TOPICS, topic
    return topic, tag, only


class G:
    def __init__(self, t):
        self.name, self.kind, self.forms, self.adj, self.slurs, self.unprot = t


GROUP_OBJS = [G(t) for t in GROUPS]
GBY = {g.name: g for g in GROUP_OBJS}

rng = random.Random(SEED)
usage = Counter()
frame_groups = defaultdict(set)
seen_texts = set()


def eligible(template, tag, only, pool):
    gs = []
    for g in pool:
        if only and g.name != only:
            continue
        if tag:
            kinds, excl, incl = TAGS[tag]
            if not ((g.kind in kinds and g.name not in excl) or g.name in incl):
                continue
        if tag and g.unprot:
            continue
        if "{A}" in template and not g.adj:
            continue
        if "{S}" in template and not g.slurs:
            continue
        gs.append(g)
    return gs


def pick_group(key, template, tag, only, pool):
    gs = eligible(template, tag, only, pool)
    fresh = [g for g in gs if g.name not in frame_groups[key]] or gs
    low = min(usage[g.name] for g in fresh)
    cands = [g for g in fresh if usage[g.name] == low]
    # small randomness: sometimes take the second-lowest tier for variety
    return rng.choice(cands)


def article_fix(text):
    # a/an agreement after substitution
    def rep(m):
        art, word = m.group(1), m.group(2)
        vowel = word[0].lower() in "aeiou" and not word.lower().startswith(("uni", "euro", "one"))
        if word.lower().startswith(("hour", "honest")):
            vowel = True
        new = ("an" if vowel else "a")
        if art[0].isupper():
            new = new.capitalize()
        return new + " " + word
    return re.sub(r"\b([Aa]n?) ([A-Za-z][\w'-]*)", rep, text)


def render(template, g, form=None, slur=None, name=None, C=None, N=None, Q=None):
    t = template
    if C is not None:
        t = t.replace("{C}", C)
    if N is not None:
        t = t.replace("{N}", N)
    if Q is not None:
        t = t.replace("{Q}", Q)
    if g is not None:
        t = t.replace("{P}", form).replace("{A}", g.adj or "")
        if slur:
            t = t.replace("{S}", slur)
    if name is not None:
        t = t.replace("{N}", name)
    t = article_fix(t)
    return t


STYLES = [("std", 30), ("nopunct", 16), ("lower", 20), ("lol", 5), ("excl", 6),
          ("dots", 4), ("raw", 19)]


def choose_style(allow_lol=True):
    items = [(s, w) for s, w in STYLES if allow_lol or s != "lol"]
    tot = sum(w for _, w in items)
    r = rng.uniform(0, tot)
    for s, w in items:
        r -= w
        if r <= 0:
            return s
    return items[-1][0]


def apply_style(text, style):
    q = text.endswith("?")
    if style == "raw":
        return text
    if style == "std":
        t = text[0].upper() + text[1:]
        return t if t[-1] in ".?!\"" else t + "."
    if style == "nopunct":
        return text[0].upper() + text[1:]
    if style == "lower":
        return text.lower()
    if style == "lol":
        return text.lower() + " lol"
    if style == "excl":
        t = text[0].upper() + text[1:]
        return t if q or t[-1] in ".!\"" else t + "!"
    if style == "dots":
        return text if q or text[-1] in "\"" else text + "..."
    return text


def typo(word):
    i = rng.randrange(1, len(word) - 2)
    kind = rng.choice(["swap", "drop", "double"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "drop":
        if len(word) < 7 or word[i] in (word[i - 1], word[i + 1]):
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def maybe_typo(texts, protect):
    """Same typo applied to a word present in every text (keeps pairs minimal)."""
    if rng.random() > 0.08:
        return texts
    common = None
    for t in texts:
        ws = set(w for w in t.split() if w.isalpha() and len(w) >= 5)
        common = ws if common is None else common & ws
    prot = set(w.lower() for p in protect for w in p.split())
    cands = sorted(w for w in common if w.lower() not in prot)
    if not cands:
        return texts
    w = rng.choice(cands)
    nw = typo(w)
    return [re.sub(r"\b%s\b" % re.escape(w), nw, t, count=1) for t in texts]


# ---------------------------------------------------------------- disguise
HOMO = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "c": "\u0441", "p": "\u0440", "i": "\u0456"}
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "$", "t": "7"}


def disguise_word(w, method):
    letters = w
    if method == "leet":
        out = "".join(LEET.get(c, c) if c.lower() in LEET and rng.random() < 0.7 else c for c in letters)
        if out == w:
            out = "".join(LEET.get(c, c) for c in letters)
        return out
    if method == "spaced":
        return " ".join(letters) if len(letters) <= 3 else letters[:3] + " " + letters[3:]
    if method == "dots":
        sep = rng.choice([".", "-", "_"])
        if len(letters) > 5:
            k = len(letters) // 2
            return letters[:k] + sep + letters[k:]
        return sep.join(letters)
    if method == "star":
        vs = [i for i, c in enumerate(letters) if c in "aeiou" and i > 0]
        if not vs:
            return letters[0] + "*" + letters[1:]
        i = rng.choice(vs)
        return letters[:i] + "*" + letters[i + 1:]
    if method == "missing":
        vs = [i for i, c in enumerate(letters) if c in "aeiou" and 0 < i < len(letters) - 1]
        if not vs:
            return letters[:-1]
        i = rng.choice(vs)
        return letters[:i] + letters[i + 1:]
    if method == "homoglyph":
        out = "".join(HOMO.get(c, c) for c in letters)
        return out if out != w else letters + "\u200b"
    return w


TOXIC_LEX = set("""lazy useless lying crooks filthy rude thick crooks cheats cheat pathetic losers
pigs sty rats weeds dogs infection flies cattle infestation hogs clean normal proper place
torch regret coming clear wall brick burn front loss flood chucked smash shouldn't waste poison
ruin repulsive culture talent gag wreck stink useless crook filthy wash worse wrong waste
bloodsucking parasites greedy lowest brainless morons smug wankers vultures pack spineless dumb
abuse overpaid scum snakes miserable leave rot hogs clueless dinosaurs slimiest creeps drop dead
leeches thick cheating rats gutless gutter grasping""".split())

DISGUISE_METHODS = ["leet", "spaced", "dots", "star", "missing", "homoglyph"]

# ---------------------------------------------------------------- builders
rows = []  # each unit: list of row dicts
pair_counter = [0]


def topic_of(*ts):
    for t in ts:
        if t:
            return t
    raise ValueError


def add_pair(tox, ben, tfunc, bfunc, topic, g, form, allow_lol=True):
    if tox in seen_texts or ben in seen_texts or tox == ben:
        return False
    style = choose_style(allow_lol)
    protect = [form] + (g.slurs if g else [])
    tox_s, ben_s = [apply_style(t, style) for t in (tox, ben)]
    tox_s, ben_s = maybe_typo([tox_s, ben_s], protect)
    if tox_s.lower() in seen_texts or ben_s.lower() in seen_texts:
        return False
    seen_texts.update([tox, ben, tox_s.lower(), ben_s.lower()])
    pair_counter[0] += 1
    pid = "P%04d" % pair_counter[0]
    unit = []
    for text, lab, fn in ((tox_s, 1, tfunc), (ben_s, 0, bfunc)):
        unit.append(dict(pair_id=pid, label=lab, functionality=fn, topic=topic,
                         group=g.name if g else "", group_kind=g.kind if g else "",
                         text=text))
    rows.append(unit)
    usage[g.name] += 1
    return True


def add_single(text, label, func, topic, g, protect=(), allow_lol=True, style=None):
    if text in seen_texts:
        return False
    style = style or choose_style(allow_lol)
    t = apply_style(text, style)
    t = maybe_typo([t], list(protect))[0]
    if t.lower() in seen_texts:
        return False
    seen_texts.update([text, t.lower()])
    rows.append([dict(pair_id="", label=label, functionality=func, topic=topic,
                      group=g.name if g else "", group_kind=g.kind if g else "", text=t)])
    if g:
        usage[g.name] += 1
    return True


MAIN = [g for g in GROUP_OBJS if not g.unprot]
UNPROT = [g for g in GROUP_OBJS if g.unprot]
ALL = GROUP_OBJS

claims = []
for func, topic, C, N in parse_lines(CLAIMS_TXT, 4):
    tp, tag, _ = parse_topic(topic)
    claims.append(dict(func=func, topic=tp, tag=tag, C=C, N=None if N == "-" else N))
questions = []
for t, q in parse_lines(QUESTIONS_TXT, 2):
    tp, tag, _ = parse_topic(t)
    questions.append(dict(topic=tp, tag=tag, Q=q))

# ---- 1. negated pairs -------------------------------------------------------
NEG_CAPS = {"derogation_explicit": 62, "derogation_dehumanising": 56, "threat": 38,
            "hateful_opinion": 40}
COUNTER_CAPS = {"derogation_explicit": 34, "derogation_dehumanising": 30, "derogation_implicit": 22,
                "threat": 32, "hateful_opinion": 28, "hateful_question": 34}
NEG_TOTAL = sum(NEG_CAPS.values())
COUNTER_PAIRS_TOTAL = sum(COUNTER_CAPS.values())


def run_claim_pairs(wrappers, caps, bfunc, kind):
    got = Counter()
    combos = []
    if kind == "neg":
        for ci, c in enumerate(claims):
            for wi, w in enumerate(wrappers):
                if w[3] and not c["N"]:
                    continue
                if c["func"] == "derogation_implicit":
                    continue
                combos.append((ci, wi))
    else:
        for ci, c in enumerate(claims):
            for wi, w in enumerate(wrappers):
                combos.append((ci, wi))
    rng.shuffle(combos)
    for ci, wi in combos:
        c, w = claims[ci], wrappers[wi]
        tfunc = w[2] or c["func"]
        if tfunc not in caps or got[tfunc] >= caps[tfunc]:
            continue
        key = ("claim", kind, ci, wi)
        g = pick_group(key, c["C"], c["tag"], None, MAIN)
        form = rng.choice(g.forms)
        Cr = render(c["C"], g, form)
        Nr = render(c["N"], g, form) if c["N"] else None
        tox = render(w[0], None, C=Cr, N=Nr)
        ben = render(w[1], None, C=Cr, N=Nr)
        topic = (w[4] if kind == "neg" else w[3]) or c["topic"]
        if add_pair(tox, ben, tfunc, bfunc, topic, g, form, allow_lol=False):
            frame_groups[key].add(g.name)
            got[tfunc] += 1
    return got


neg_got = run_claim_pairs(NEG_WRAPPERS, NEG_CAPS, "negated_hate", "neg")
cnt_got = run_claim_pairs(COUNTER_WRAPPERS, {k: v for k, v in COUNTER_CAPS.items() if k != "hateful_question"},
                          "counter_speech", "counter")
# question counter pairs
qcombos = [(qi, wi) for qi in range(len(questions)) for wi in range(len(QUESTION_WRAPPERS))]
rng.shuffle(qcombos)
qgot = 0
while qgot < COUNTER_CAPS["hateful_question"]:
    for qi, wi in qcombos:
        if qgot >= COUNTER_CAPS["hateful_question"]:
            break
        q, w = questions[qi], QUESTION_WRAPPERS[wi]
        key = ("q", qi, wi)
        g = pick_group(key, q["Q"], q["tag"], None, MAIN)
        form = rng.choice(g.forms)
        Qr = render(q["Q"], g, form)
        tox = render(w[0], None, Q=Qr)
        ben = render(w[1], None, Q=Qr)
        topic = q["topic"] if w[0] != "{Q}" else q["topic"]
        if add_pair(tox, ben, "hateful_question", "counter_speech", topic, g, form, allow_lol=False):
            frame_groups[key].add(g.name)
            qgot += 1
cnt_got["hateful_question"] = qgot

# ---- 2. direct pairs with everyday twins ------------------------------------
TARGETS = {
    "derogation_explicit": 130, "derogation_dehumanising": 112, "derogation_implicit": 96,
    "threat": 106, "slur": 86, "hateful_question": 96, "hateful_opinion": 108,
    "abuse_individual": 90, "abuse_unprotected_group": 100, "disguised": 100,
}
SLUR_SINGLE_N = 16
SLUR_COUNTER_N = 20
EVERYDAY_TARGET = 1030

direct = {}
for func, block in DIRECT.items():
    lst = []
    for topic, pair in parse_lines(block, 2):
        tox, ben = [s.strip() for s in pair.split(" || ")]
        tp, tag, only = parse_topic(topic)
        lst.append(dict(topic=tp, tag=tag, only=only, tox=tox, ben=ben))
    direct[func] = lst


def fill_direct(func, n, pool, tfunc=None, disguise=False):
    frames = direct[func]
    made = 0
    order = list(range(len(frames)))
    rng.shuffle(order)
    i = 0
    guard = 0
    while made < n and guard < 5000:
        guard += 1
        fi = order[i % len(order)]
        i += 1
        fr = frames[fi]
        key = ("direct", func, fi, disguise)
        g = pick_group(key, fr["tox"] + fr["ben"], fr["tag"], fr["only"], pool)
        form = rng.choice(g.forms)
        slur = rng.choice(g.slurs) if g.slurs and "{S}" in fr["tox"] else None
        tox = render(fr["tox"], g, form, slur=slur)
        ben = render(fr["ben"], g, form)
        if disguise:
            tox = disguise_text(tox, ben, form)
        if add_pair(tox, ben, tfunc or func, "everyday_mention", fr["topic"], g, form):
            frame_groups[key].add(g.name)
            made += 1
    return made


def disguise_text(tox, ben, form):
    bw = set(re.sub(r"[^\w' -]", " ", ben.lower()).split())
    fw = set(form.lower().split())
    words = tox.split(" ")
    idx = [i for i, w in enumerate(words)
           if re.sub(r"[^\w]", "", w.lower()) not in bw and len(re.sub(r"[^\w]", "", w)) >= 3
           and re.sub(r"[^\w]", "", w.lower()) not in fw]
    if not idx:
        idx = [max(range(len(words)), key=lambda i: len(words[i]))]
    rng.shuffle(idx)
    # decisive insult words first
    idx.sort(key=lambda i: re.sub(r"[^\w]", "", words[i].lower()) not in TOXIC_LEX)
    idx = idx[:2]
    method = rng.choice(DISGUISE_METHODS)
    for i in idx:
        w = words[i]
        m = re.match(r"^([^\w]*)([\w']+)([^\w]*)$", w)
        if not m:
            continue
        core = m.group(2)
        meth = method
        words[i] = m.group(1) + disguise_word(core, meth) + m.group(3)
    return " ".join(words)


direct_made = {}
for func in ["derogation_explicit", "derogation_dehumanising", "derogation_implicit", "threat",
             "hateful_opinion", "hateful_question"]:
    have = neg_got.get(func, 0) + cnt_got.get(func, 0)
    need = TARGETS[func] - have
    direct_made[func] = fill_direct(func, need, MAIN)
direct_made["abuse_unprotected_group"] = fill_direct("abuse_unprotected_group",
                                                      TARGETS["abuse_unprotected_group"], UNPROT)
direct_made["slur"] = fill_direct("slur", TARGETS["slur"] - SLUR_SINGLE_N, MAIN)

# disguised: reuse the toxic frames of the direct pairs, decisive words disguised
dis_sources = ["derogation_explicit", "derogation_dehumanising", "threat", "hateful_opinion",
               "hateful_question", "abuse_unprotected_group", "derogation_implicit"]
dis_quota = {f: TARGETS["disguised"] // len(dis_sources) for f in dis_sources}
dis_quota[dis_sources[0]] += TARGETS["disguised"] - sum(dis_quota.values())
for f in dis_sources:
    pool = UNPROT if f == "abuse_unprotected_group" else MAIN
    fill_direct(f, dis_quota[f], pool, tfunc="disguised", disguise=True)

# slurs aimed at someone (unpaired) and slurs discussed as words (counter speech)
slur_groups = [g for g in MAIN if g.slurs]
for block, n, func, lab in ((SLUR_SINGLE_TXT, SLUR_SINGLE_N, "slur", 1),
                            (SLUR_COUNTER_TXT, SLUR_COUNTER_N, "counter_speech", 0)):
    frames = parse_lines(block, 2)
    made, i = 0, 0
    while made < n and i < 1000:
        topic, tpl = frames[i % len(frames)]
        i += 1
        key = ("slur1", func, tpl)
        g = pick_group(key, tpl, None, None, slur_groups)
        slur = rng.choice(g.slurs)
        if add_single(render(tpl, g, g.forms[0], slur=slur), lab, func, topic, g,
                      protect=[slur], allow_lol=(lab == 1)):
            frame_groups[key].add(g.name)
            made += 1

# abuse of individuals (no group)
ind = parse_lines(INDIVIDUAL_TXT, 2)
made, i = 0, 0
name_cycle = list(NAMES)
rng.shuffle(name_cycle)
while made < TARGETS["abuse_individual"] and i < 2000:
    topic, tpl = ind[i % len(ind)]
    i += 1
    name = name_cycle[i % len(name_cycle)]
    if add_single(render(tpl, None, name=name), 1, "abuse_individual", topic, None):
        made += 1

# ---- 3. unpaired everyday mentions -----------------------------------------
ev_frames = []
for topic, tpl in parse_lines(EVERYDAY_TXT, 2):
    tp, tag, only = parse_topic(topic)
    ev_frames.append(dict(topic=tp, tag=tag, only=only, tpl=tpl))
ev_have = sum(1 for u in rows for r in u if r["functionality"] == "everyday_mention")
need = EVERYDAY_TARGET - ev_have
order = list(range(len(ev_frames)))
rng.shuffle(order)
made, i = 0, 0
while made < need and i < 20000:
    fi = order[i % len(order)]
    i += 1
    fr = ev_frames[fi]
    key = ("ev", fi)
    g = pick_group(key, fr["tpl"], fr["tag"], fr["only"], ALL)
    form = rng.choice(g.forms)
    if add_single(render(fr["tpl"], g, form), 0, "everyday_mention", fr["topic"], g, protect=[form]):
        frame_groups[key].add(g.name)
        made += 1

# ---------------------------------------------------------------- output
rng.shuffle(rows)
flat = []
for unit in rows:
    flat.extend(unit)
# renumber pairs in order of appearance
pid_map = {}
out = []
for k, r in enumerate(flat, 1):
    pid = r["pair_id"]
    if pid:
        if pid not in pid_map:
            pid_map[pid] = "P%04d" % (len(pid_map) + 1)
        pid = pid_map[pid]
    out.append(dict(case_id="S%05d" % k, pair_id=pid, label=r["label"],
                    functionality=r["functionality"], topic=r["topic"], group=r["group"],
                    group_kind=r["group_kind"], text=r["text"]))

COLS = ["case_id", "pair_id", "label", "functionality", "topic", "group", "group_kind", "text"]
with open(CSV_PATH, "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=COLS, lineterminator="\n")
    w.writeheader()
    for r in out:
        w.writerow(r)

spec = {
    "seed": SEED,
    "written_by": "another author, from the brief alone",
    "date": "2026-12-07",
    "groups": [dict(name=g.name, kind=g.kind, surface_forms=g.forms, modifier=g.adj,
                    unprotected=g.unprot, slurs=g.slurs) for g in GROUP_OBJS],
    "topics": TOPICS,
    "reserved_topics": RESERVED_TOPICS,
    "functionalities": {k: {"label": v[0], "description": v[1]} for k, v in FUNCTIONALITIES.items()},
    "targets": TARGETS,
    "frames": {
        "claims": claims,
        "questions": questions,
        "negation_wrappers": [list(w) for w in NEG_WRAPPERS],
        "counter_wrappers": [list(w) for w in COUNTER_WRAPPERS],
        "question_wrappers": [list(w) for w in QUESTION_WRAPPERS],
        "direct_pairs": direct,
        "slur_aimed": [dict(topic=t, text=x) for t, x in parse_lines(SLUR_SINGLE_TXT, 2)],
        "slur_as_word": [dict(topic=t, text=x) for t, x in parse_lines(SLUR_COUNTER_TXT, 2)],
        "abuse_individual": [dict(topic=t, text=x) for t, x in ind],
        "everyday": ev_frames,
    },
    "fillers": {
        "names": NAMES,
        "styles": [s for s, _ in STYLES],
        "disguise_methods": DISGUISE_METHODS,
        "leet": LEET,
        "homoglyphs": HOMO,
        "group_tags": {k: dict(kinds=sorted(v[0]), exclude=sorted(v[1]), include=sorted(v[2])) for k, v in TAGS.items()},
    },
}
with open(SPEC_PATH, "w", encoding="utf-8") as f:
    json.dump(spec, f, indent=1, ensure_ascii=False)
    f.write("\n")

# ---------------------------------------------------------------- report
if __name__ == "__main__":
    n = len(out)
    fc = Counter(r["functionality"] for r in out)
    lab = Counter(r["label"] for r in out)
    wc = [len(r["text"].split()) for r in out]
    print("cases", n, "labels", dict(lab))
    for k in FUNCTIONALITIES:
        print("  %-26s %5d  %5.1f%%" % (k, fc[k], 100 * fc[k] / n))
    print("pairs", len(pid_map))
    print("median words", statistics.median(wc), "4-16 share", sum(4 <= x <= 16 for x in wc) / n)
    print("group kinds", dict(Counter(r["group_kind"] for r in out)))
    tc = Counter(r["topic"] for r in out)
    print("topics used", len(tc), "everyday topics",
          len(set(r["topic"] for r in out if r["functionality"] == "everyday_mention")))
    print("reserved", {t: tc[t] for t in RESERVED_TOPICS})
    print("groups", len(set(r["group"] for r in out if r["group"])))
