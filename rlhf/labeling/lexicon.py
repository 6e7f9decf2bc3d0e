"""The word lists behind the simulated descriptiveness labeler (`rlhf.labeling.simulated.descriptiveness_score`).

Written for this project. Base forms only, sorted by part of speech because the scorer derives
inflected forms by part of speech: nouns take plurals, verbs also -ed and -ing, adjectives -er,
-est and -ly. That keeps "being" from counting as "bee", "mother" as "moth", "rated" as "rat".
A word may sit in several lists ("light" is a verb and an adjective). Generic nouns that are
concrete but not vivid ("house", "room", "thing", "place") are left out on purpose, and so are
words mostly used abstractly in prose ("way", "kind", "fine", "fair", "close").
"""

from __future__ import annotations


def _words(*groups: str) -> frozenset[str]:
    return frozenset(word for group in groups for word in group.split())


CONCRETE_NOUNS = _words(
    # light and weather
    """sun sunlight sunshine moon moonlight starlight star dusk dawn twilight gloom haze mist fog
    smoke beam ray sunset sunrise darkness blackness candle lamp lantern flame colour color hue
    tint freckle stripe cloud sky frost ice hail dew puddle lightning breeze wind weather heat""",
    # smells, tastes, food
    """scent odour odor fragrance perfume aroma stench tea coffee bread wine honey sugar butter cream
    milk cake fruit apple lemon meat soup""",
    # materials
    """wood stone brick iron steel glass silk satin velvet lace linen wool cotton leather fur
    feather paper marble clay straw oak pine pearl jewel diamond muslin cloth canvas rope chain tin
    brass gravel sand dust mud ash wax rust copper plaster slate timber""",
    # shapes
    """circle edge corner ridge arch spiral tangle bulge lump heap pile""",
    # the body
    """face eye ear lip mouth cheek hair hand finger fist arm shoulder neck throat chest breast skin
    brow forehead nose chin jaw teeth tooth tongue knee leg foot feet heel toe palm wrist elbow hip
    belly blood bone tear breath beard dimple eyelash lash curl ringlet nail scar bruise sweat""",
    # landscape and plants
    """river stream brook lake sea ocean wave shore beach hill mountain valley meadow field forest
    grass leaf leaves tree branch bough flower rose blossom moss rock pebble garden hedge path lane
    orchard pond marsh cliff cave thicket shrub bush vine ivy petal bud thorn root bark twig weed
    soil""",
    # household objects, clothing, things in the street
    """door window wall floor ceiling roof stair staircase table chair bench bed pillow curtain
    carpet rug fire fireplace hearth chimney kitchen cup plate bowl bottle basket box gown dress
    coat hat bonnet boot shoe glove ribbon button pocket shawl carriage horse wheel road street
    gate fence cottage cushion sofa mirror clock kettle jug spoon knife fork vase frame shelf
    drawer trunk sleeve collar apron cloak veil scarf petticoat hem saddle stable""",
    # animals
    """dog cat bird sparrow robin crow owl hound pony cow sheep lamb pig hen duck goose fox deer
    rabbit mouse mice rat fly bee moth butterfly fish""",
)

CONCRETE_VERBS = _words(
    # light
    """light shadow shade glow gleam glint glitter shine shimmer sparkle flicker flash blaze glare""",
    # sounds
    """sound noise whisper murmur rustle creak crack crash bang thud roar rumble hum buzz ring chime
    clatter clang rattle hiss sigh groan moan shout scream shriek laugh giggle sob echo tap knock
    patter splash drip howl bark squeak crackle thunder sing whistle snap click jingle tinkle wail
    yell chirp hoot croak purr growl snore""",
    # smell, taste, touch
    """smell reek taste savour savor sniff itch sting prick tickle wrinkle polish sweat stain
    speckle dapple blush flush""",
    # weather
    """rain snow storm drizzle freeze""",
    # physical movement and action
    """run walk step stride stumble trip jump leap climb crawl kneel lean grasp grip clutch seize
    touch stroke brush rub scratch tremble shiver shake quiver nod wave stare gaze glance blink
    frown smile grin wince flinch pant gasp pour spill rip slam swing sway drag tug fling toss hurl
    gallop trot dash rush stomp tiptoe shuffle sprawl slump hunch squint sniffle wipe""",
)

CONCRETE_ADJECTIVES = _words(
    # colours and tones
    """red orange yellow green blue purple violet pink brown black white grey gray golden gold
    silver scarlet crimson amber azure ivory pale dark bright rosy ruddy tawny emerald copper bronze
    blonde auburn hazel lilac vermilion ochre sallow pallid livid light dim radiant luminous""",
    # touch, texture, temperature, taste
    """rough smooth soft hard silky velvety coarse sharp blunt damp wet dry moist sticky slippery
    warm cold cool hot icy chilly frozen greasy dusty muddy crisp tender firm limp brittle glossy
    rugged jagged fuzzy downy prickly frosty steamy soggy sleek supple stiff musty sour bitter
    salty spicy stale rotten sweet wooden woollen""",
    # sound
    """loud shrill hoarse""",
    # shapes and sizes
    """round square narrow wide broad thick thin tall tiny huge vast curved crooked straight flat
    hollow steep slender plump heavy stout lean lanky squat oval""",
)

MODIFIERS = _words(
    """slow quick gentle fierce graceful elegant handsome ugly beautiful lovely pretty delicate
    enormous faint vivid glorious splendid dreary gloomy shabby neat tidy dirty clean ancient
    crumbling rickety gleaming sparkling dazzling blinding deafening silent quiet trembling weary
    eager sudden abrupt swift lazy sluggish breathless flushed wild tangled shaggy lush barren bare
    empty crowded bustling""",
)

ABSTRACT = _words(
    """idea thought opinion feeling reason notion subject matter affair circumstance situation
    question consideration respect regard sense character nature manner degree sort interest
    concern attention duty propriety principle conduct behaviour behavior understanding knowledge
    belief truth importance occasion consequence purpose intention object motive sentiment
    judgement judgment connection acquaintance obligation inclination disposition esteem merit
    virtue prudence sensibility advantage fortune necessity possibility probability certainty
    doubt evidence explanation information""",
)

# Forms that look derived from a listed word but almost never mean it.
NOT_DERIVED = _words("hardly barely lately shortly fairly number")
