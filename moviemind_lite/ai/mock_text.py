"""Deterministic, offline text composer for the mock AI generator.

MovieMind Lite has no real language model, so this module stands in for one:
it assembles readable movie descriptions and person biographies in five
locales from tables of alternative sentence templates. Choices are driven by a
seeded ``random.Random`` so the same request always yields the same text while
different seeds give noticeably different wording built on the same facts.

Polish, French and Spanish grammar marks gender on past-tense verbs and many
adjectives, and the catalog does not record a person's gender. The templates
therefore lean on gender-neutral constructions (historical present tense,
feminine nouns such as "osoba"/"postać"/"personnalité", possessives that agree
with the possessed noun) and keep inserted names and titles in the nominative.
"""

from __future__ import annotations

import datetime
import random
import re
from collections.abc import Sequence

__all__ = [
    "LOCALES",
    "compose_movie_description",
    "compose_person_bio",
    "guess_movie_facts",
    "guess_person_facts",
]

LOCALES: tuple[str, ...] = ("pl-PL", "en-US", "de-DE", "fr-FR", "es-ES")

_TONES: tuple[str, ...] = ("default", "modern", "critical", "humorous")

# One line per slot: "slot: alternative | alternative | ...". Plain text blocks
# keep the prose of five locales reviewable (and the module compact) without
# drowning the sentences in Python string punctuation.
_TEMPLATE_BLOCKS: dict[str, str] = {
    "en-US": """
movie_intro_year: {title} is a {year} film that continues to draw attention from audiences. | Released in {year}, {title} quickly found its way to viewers. | {title} ({year}) is one of those titles worth knowing a little more about. | The year {year} brought {title} to the screen.
movie_intro: {title} is a film that continues to draw attention from audiences. | {title} is one of those titles worth knowing a little more about. | Among the films worth discovering, {title} holds a place of its own. | {title} is a production that deserves a second look.
director: It was directed by {director}. | Behind the camera stands {director}. | {director} is credited with the direction. | The direction comes from {director}.
genres: Genre-wise, it sits firmly in {genres} territory. | It draws on the conventions of {genres}. | Fans of {genres} will find plenty to enjoy here. | In terms of genre, the recipe is clear: {genres}.
movie_default: The film tells its story with a steady hand, balancing character moments with a clear sense of momentum. | Its story unfolds at a measured pace, giving both the characters and the setting room to breathe. | At its core, it is a story about people facing choices that test who they are. | The film builds its world carefully, letting the atmosphere and the performances carry much of the weight.
movie_modern: Watched today on a laptop or a big TV, it still holds attention better than many recent releases. | In the streaming era, with new titles arriving every week, it is well worth adding to your watchlist. | Its themes feel surprisingly current and resonate with viewers used to binge-watching fast-moving stories. | For a generation raised on streaming platforms, it is a reminder of how much a single film can do.
movie_critical: Its greatest strengths are the confident direction and the performances, though the pacing sags in the middle. | The film impresses with its craftsmanship, yet some of its narrative choices feel more calculated than inspired. | There is real ambition here, even if the script does not always match the quality of the visuals. | Critics praise its atmosphere and ambition while noting that not every subplot earns its place.
movie_humorous: It is the kind of film that makes you forget your popcorn, which is a tragedy for the popcorn. | Bring snacks, silence your phone, and prepare to argue with your friends about it afterwards. | Watching it is a bit like a rollercoaster, only with fewer safety bars and better dialogue. | If your couch could talk, it would probably ask you to watch this one again.
person_intro: {name} is a name that film lovers are likely to recognize. | This is a short portrait of {name}, a familiar figure from the world of cinema. | {name} belongs to the people who have left a mark on film. | In the world of cinema, {name} is a name that deserves attention.
birth: {name} was born {born}. | {name} came into the world {born}. | The story begins {born} with the birth of {name}. | Records show that {name} was born {born}.
person_default: Their career has been shaped by a series of notable projects and collaborations. | Over the years, their work has earned the respect of audiences and colleagues alike. | The roles and projects associated with this name show a clear sense of craft and commitment. | Their path through the film industry reflects steady work, curiosity and a talent for memorable moments.
person_modern: Today, their work reaches new audiences through streaming platforms and social media. | In an era of viral clips and online fandoms, their presence remains easy to spot. | Many younger viewers first encounter their work through streaming recommendations rather than cinema screens. | Their public image has adapted well to the digital age, where interviews and clips circulate endlessly.
person_critical: Their filmography includes genuine highlights, although not every project shows them at their best. | Critics often praise their range while pointing out that some choices of material were less fortunate. | At their strongest they bring real depth to their work; at their weakest they rely on familiar habits. | A measured look at their career reveals consistent professionalism alongside a few uneven periods.
person_humorous: Rumor has it that even their coffee order has something cinematic about it. | Their career has more plot twists than a late-night thriller marathon. | If there were an award for keeping audiences guessing, they would need an extra shelf. | Their fans are many, loyal and occasionally a little too enthusiastic about trivia.
shared_default: Over the years, {subject} has found a steady place in conversations about cinema. | For many viewers, {subject} remains a point of reference worth returning to. | {subject} continues to draw the attention of audiences and critics alike. | It is easy to see why {subject} keeps coming up in discussions among film enthusiasts.
shared_modern: Today, {subject} regularly resurfaces in streaming recommendations and social media threads. | In the age of short clips and endless feeds, {subject} still manages to spark genuine conversation. | Younger audiences discovering {subject} online are often surprised by how relevant it all feels. | Thanks to streaming, {subject} is just a few clicks away for a whole new generation of viewers.
shared_critical: On balance, {subject} deserves recognition, even if not every element holds up to close scrutiny. | A fair assessment of {subject} has to acknowledge both the clear achievements and the occasional missteps. | {subject} is not flawless, but the strengths clearly outweigh the weaknesses. | Weighed against the ambitions on display, the record of {subject} leans clearly toward success.
shared_humorous: Fun fact: mentioning {subject} at a party is a reliable way to start a two-hour debate. | {subject} has more fans than your group chat has unread messages, and that is saying something. | Legend has it that anyone who skips {subject} is doomed to miss half of all movie jokes. | Approach {subject} with curiosity and possibly a snack; the two go together very well.
closing: All in all, {subject} is well worth your time. | Anyone curious about cinema will find in {subject} something worth discovering. | {subject} makes a good starting point for a longer evening of film. | Whatever your taste, {subject} deserves at least one careful look.
""",
    "pl-PL": """
movie_intro_year: {title} to film z {year} roku, który wciąż przyciąga uwagę widzów. | Rok {year} przyniósł premierę filmu {title}. | Film {title} trafił na ekrany w {year} roku. | {title} ({year}) to tytuł, o którym warto wiedzieć coś więcej.
movie_intro: {title} to film, który wciąż przyciąga uwagę widzów. | Film {title} to tytuł, o którym warto wiedzieć coś więcej. | Wśród filmów wartych uwagi znajduje się {title}. | {title} to produkcja, która zasługuje na chwilę uwagi.
director: Za reżyserię odpowiada {director}. | Za kamerą staje tu {director}. | Za sterami tej produkcji stoi {director}. | Reżyserską wizję całości firmuje swoim nazwiskiem {director}.
genres: Film czerpie z konwencji takich gatunków jak {genres}. | Pod względem gatunkowym to {genres}. | Gatunkowa etykieta brzmi: {genres}. | Miłośnicy takich gatunków jak {genres} poczują się tu jak w domu.
movie_default: Opowieść prowadzona jest pewną ręką, a momenty skupione na bohaterach równoważy wyraźne tempo. | Historia rozwija się w spokojnym rytmie, dając bohaterom i miejscu akcji przestrzeń do oddechu. | W centrum tej opowieści stoją ludzie postawieni przed wyborami, które wystawiają ich na próbę. | Świat przedstawiony budowany jest starannie, a dużą część ciężaru dźwigają klimat i aktorstwo.
movie_modern: Oglądany dziś na laptopie czy dużym telewizorze, wciąż wciąga bardziej niż wiele nowych premier. | W epoce streamingu, gdy co tydzień pojawiają się nowe tytuły, to propozycja warta dopisania do listy „do obejrzenia”. | Jego tematy brzmią zaskakująco współcześnie i trafiają do widzów przyzwyczajonych do oglądania seriali hurtem. | Dla pokolenia wychowanego na platformach streamingowych to przypomnienie, jak wiele potrafi jeden film.
movie_critical: Największe atuty to pewna reżyseria i aktorstwo, choć w środkowej części tempo wyraźnie słabnie. | Film imponuje warsztatem, ale niektóre rozwiązania fabularne wydają się bardziej wykalkulowane niż natchnione. | Ambicji tu nie brakuje, nawet jeśli scenariusz nie zawsze dorównuje stronie wizualnej. | Krytycy chwalą klimat i rozmach, zauważając jednocześnie, że nie każdy wątek poboczny jest potrzebny.
movie_humorous: To jeden z tych filmów, przy których zapomina się o popcornie – co dla popcornu jest prawdziwą tragedią. | Przygotuj przekąski, wycisz telefon i szykuj się na długą dyskusję ze znajomymi po seansie. | Seans przypomina kolejkę górską, tyle że z mniejszą liczbą zabezpieczeń i lepszymi dialogami. | Gdyby kanapa umiała mówić, pewnie poprosiłaby o powtórkę.
person_intro: {name} to postać dobrze znana miłośnikom kina. | Oto krótki portret postaci, jaką jest {name}. | {name} należy do grona osób, które zostawiły ślad w świecie filmu. | Wśród nazwisk związanych z kinem {name} zajmuje własne, wyraźne miejsce.
birth: {name} to osoba urodzona {born}. | {name} przychodzi na świat {born}. | Biografia zaczyna się {born} – wtedy na świat przychodzi {name}. | Według dostępnych danych {name} przychodzi na świat {born}.
person_default: Na dorobek tej postaci składa się szereg ważnych projektów i współprac. | Z biegiem lat ta twórczość zdobywa szacunek zarówno widzów, jak i współpracowników. | Role i projekty związane z tym nazwiskiem świadczą o warsztacie i zaangażowaniu. | Droga tej osoby w branży filmowej to konsekwentna praca, ciekawość świata i talent do niezapomnianych momentów.
person_modern: Dziś ta twórczość dociera do nowych odbiorców dzięki platformom streamingowym i mediom społecznościowym. | W epoce viralowych klipów i internetowych fandomów to nazwisko wciąż łatwo zauważyć. | Wielu młodszych widzów poznaje tę twórczość raczej dzięki rekomendacjom w serwisach streamingowych niż w kinie. | Wizerunek tej osoby dobrze odnajduje się w epoce cyfrowej, w której wywiady i klipy krążą bez końca.
person_critical: W filmografii nie brakuje prawdziwych perełek, choć nie każdy projekt pokazuje pełnię możliwości. | Krytycy chwalą wszechstronność, wskazując jednocześnie, że niektóre wybory repertuarowe okazują się mniej trafione. | W najlepszych momentach ta twórczość ma prawdziwą głębię, w słabszych – opiera się na sprawdzonych nawykach. | Wyważone spojrzenie na tę karierę pokazuje stały profesjonalizm, ale też kilka nierównych okresów.
person_humorous: Plotka głosi, że nawet zamówienie kawy w wykonaniu tej osoby ma w sobie coś filmowego. | Ta kariera ma więcej zwrotów akcji niż nocny maraton thrillerów. | Gdyby istniała nagroda za trzymanie widzów w niepewności, potrzebna byłaby dodatkowa półka. | Fanów jest wielu, są lojalni i czasem aż nazbyt rozentuzjazmowani w kwestii ciekawostek.
shared_default: Z biegiem lat {subject} na stałe wpisuje się w rozmowy o kinie. | Dla wielu widzów {subject} pozostaje punktem odniesienia, do którego warto wracać. | {subject} wciąż przyciąga uwagę zarówno publiczności, jak i krytyków. | Łatwo zrozumieć, dlaczego {subject} tak często pojawia się w dyskusjach miłośników filmu.
shared_modern: Dziś {subject} regularnie pojawia się w rekomendacjach serwisów streamingowych i w mediach społecznościowych. | W czasach krótkich klipów i niekończących się feedów {subject} wciąż potrafi wywołać prawdziwą dyskusję. | Dla młodszej publiczności {subject} okazuje się zaskakująco aktualnym odkryciem. | Dzięki streamingowi {subject} jest na wyciągnięcie ręki dla zupełnie nowego pokolenia widzów.
shared_critical: Ostatecznie {subject} zasługuje na uznanie, nawet jeśli nie każdy element wytrzymuje uważną analizę. | Uczciwa ocena musi uwzględniać zarówno wyraźne osiągnięcia, jak i potknięcia, z którymi kojarzy się {subject}. | {subject} ma swoje słabości, ale mocne strony wyraźnie przeważają. | W zestawieniu z własnymi ambicjami {subject} częściej odnosi sukces, niż zawodzi.
shared_humorous: Ciekawostka: hasło „{subject}” rzucone na imprezie to niezawodny sposób na dwugodzinną debatę. | {subject} ma więcej fanów, niż twój grupowy czat ma nieprzeczytanych wiadomości – a to już coś znaczy. | Legenda głosi, że kto nie zna hasła „{subject}”, nie zrozumie połowy filmowych żartów. | Do tematu „{subject}” najlepiej podejść z ciekawością i – na wszelki wypadek – z przekąską.
closing: Podsumowując: {subject} to temat wart poświęconego czasu. | Każdy ciekawy kina znajdzie w temacie „{subject}” coś wartego odkrycia. | {subject} to dobry punkt wyjścia do dłuższego wieczoru z kinem. | Bez względu na gust {subject} zasługuje na co najmniej jedno uważne spojrzenie.
""",
    "de-DE": """
movie_intro_year: {title} ist ein Film aus dem Jahr {year}, der bis heute Aufmerksamkeit auf sich zieht. | Im Jahr {year} kam {title} in die Kinos. | {title} ({year}) gehört zu den Titeln, über die man mehr wissen sollte. | Mit {title} erschien {year} ein Film, der seinen eigenen Weg geht.
movie_intro: {title} ist ein Film, der bis heute Aufmerksamkeit auf sich zieht. | {title} gehört zu den Titeln, über die man mehr wissen sollte. | Unter den sehenswerten Filmen findet sich auch {title}. | {title} ist eine Produktion, die einen zweiten Blick verdient.
director: Regie führte {director}. | Hinter der Kamera stand {director}. | Inszeniert wurde der Film von {director}. | Für die Regie zeichnet {director} verantwortlich.
genres: Der Film bedient sich bei folgenden Genres: {genres}. | Stilistisch ist der Film im Bereich {genres} angesiedelt. | Genrefans dürfen sich auf Folgendes freuen: {genres}. | Das Genre-Etikett lautet: {genres}.
movie_default: Der Film erzählt seine Geschichte mit ruhiger Hand und verbindet Figurenmomente mit einem klaren Erzähltempo. | Die Handlung entfaltet sich in gemessenem Tempo und lässt Figuren und Schauplätzen Raum zum Atmen. | Im Kern geht es um Menschen, die vor Entscheidungen stehen, die sie auf die Probe stellen. | Die Welt des Films wird sorgfältig aufgebaut, und Atmosphäre sowie Schauspiel tragen einen Großteil der Last.
movie_modern: Heute auf dem Laptop oder dem großen Fernseher gesehen, fesselt er noch immer mehr als viele aktuelle Neuerscheinungen. | Im Streaming-Zeitalter, in dem jede Woche neue Titel erscheinen, gehört er eindeutig auf die Merkliste. | Seine Themen wirken überraschend aktuell und sprechen ein Publikum an, das Serien am Stück schaut. | Für eine mit Streaming-Plattformen aufgewachsene Generation zeigt er, wie viel ein einzelner Film leisten kann.
movie_critical: Zu den größten Stärken zählen die souveräne Regie und das Schauspiel, auch wenn das Tempo im Mittelteil nachlässt. | Handwerklich überzeugt der Film, doch manche erzählerische Entscheidung wirkt eher kalkuliert als inspiriert. | Ehrgeiz ist reichlich vorhanden, auch wenn das Drehbuch nicht immer mit der Bildsprache mithalten kann. | Kritiker loben Atmosphäre und Anspruch, merken aber an, dass nicht jeder Nebenstrang seinen Platz verdient.
movie_humorous: Es ist einer dieser Filme, bei denen man das Popcorn vergisst – eine echte Tragödie für das Popcorn. | Snacks bereitlegen, Handy stumm schalten und sich auf eine lange Diskussion mit Freunden einstellen. | Das Zuschauen gleicht einer Achterbahnfahrt, nur mit weniger Sicherheitsbügeln und besseren Dialogen. | Könnte das Sofa sprechen, würde es wohl um eine zweite Runde bitten.
person_intro: {name} ist eine Persönlichkeit, die Filmfans ein Begriff sein dürfte. | Dies ist ein kurzes Porträt von {name}. | {name} gehört zu den Menschen, die in der Filmwelt Spuren hinterlassen haben. | In der Welt des Kinos ist {name} ein Name, der Aufmerksamkeit verdient.
birth: {name} wurde {born} geboren. | {name} kam {born} zur Welt. | Die Lebensgeschichte beginnt {born}, als {name} zur Welt kommt. | Geboren wurde {name} {born}.
person_default: Die Karriere wurde von einer Reihe bemerkenswerter Projekte und Kooperationen geprägt. | Im Laufe der Jahre hat diese Arbeit den Respekt von Publikum und Kollegen gewonnen. | Die mit diesem Namen verbundenen Rollen und Projekte zeugen von Handwerk und Hingabe. | Der Weg durch die Filmbranche steht für beständige Arbeit, Neugier und ein Gespür für unvergessliche Momente.
person_modern: Heute erreicht dieses Werk über Streaming-Plattformen und soziale Medien ein neues Publikum. | In einer Zeit viraler Clips und Online-Fangemeinden ist dieser Name nach wie vor präsent. | Viele jüngere Zuschauer entdecken diese Arbeit eher über Streaming-Empfehlungen als auf der Kinoleinwand. | Das öffentliche Bild passt gut ins digitale Zeitalter, in dem Interviews und Clips endlos zirkulieren.
person_critical: Die Filmografie enthält echte Höhepunkte, auch wenn nicht jedes Projekt die volle Stärke zeigt. | Kritiker loben die Vielseitigkeit, weisen aber darauf hin, dass manche Stoffwahl weniger glücklich war. | In den besten Momenten hat diese Arbeit echte Tiefe, in schwächeren verlässt sie sich auf bewährte Muster. | Ein nüchterner Blick auf diese Laufbahn zeigt beständige Professionalität, aber auch einige ungleichmäßige Phasen.
person_humorous: Gerüchten zufolge hat selbst die Kaffeebestellung dieser Person etwas Filmreifes. | Diese Karriere hat mehr Wendungen als ein nächtlicher Thriller-Marathon. | Gäbe es einen Preis dafür, das Publikum im Ungewissen zu lassen, bräuchte es ein zusätzliches Regal. | Die Fans sind zahlreich, treu und bei Trivia-Fragen manchmal etwas zu begeistert.
shared_default: Im Laufe der Jahre hat sich {subject} einen festen Platz in Gesprächen über das Kino gesichert. | Für viele Zuschauer bleibt {subject} ein Bezugspunkt, zu dem man gern zurückkehrt. | {subject} zieht nach wie vor die Aufmerksamkeit von Publikum und Kritik auf sich. | Es ist leicht zu verstehen, warum {subject} in Diskussionen unter Filmfans immer wieder auftaucht.
shared_modern: Heute taucht {subject} regelmäßig in Streaming-Empfehlungen und in sozialen Netzwerken auf. | In Zeiten kurzer Clips und endloser Feeds sorgt {subject} noch immer für echte Gespräche. | Für ein jüngeres Publikum erweist sich {subject} oft als überraschend aktuelle Entdeckung. | Dank Streaming ist {subject} für eine ganz neue Generation nur wenige Klicks entfernt.
shared_critical: Unterm Strich verdient {subject} Anerkennung, auch wenn nicht jedes Element einer genauen Prüfung standhält. | Eine faire Bewertung muss bei {subject} sowohl die klaren Erfolge als auch gelegentliche Fehltritte berücksichtigen. | {subject} hat Schwächen, doch die Stärken überwiegen deutlich. | Gemessen am eigenen Anspruch überwiegen bei {subject} die Erfolge gegenüber den Fehlschlägen.
shared_humorous: Kleiner Tipp: Wer auf einer Party „{subject}“ erwähnt, löst zuverlässig eine zweistündige Debatte aus. | {subject} hat mehr Fans, als dein Gruppenchat ungelesene Nachrichten hat – und das will etwas heißen. | Der Legende nach versteht niemand, der {subject} verpasst, die Hälfte aller Filmwitze. | Am besten nähert man sich {subject} mit Neugier und vielleicht einem Snack – beides passt hervorragend zusammen.
closing: Alles in allem ist {subject} die investierte Zeit wert. | Wer sich für Kino interessiert, wird bei {subject} etwas Entdeckenswertes finden. | {subject} ist ein guter Ausgangspunkt für einen längeren Filmabend. | Unabhängig vom persönlichen Geschmack verdient {subject} mindestens einen aufmerksamen Blick.
""",
    "fr-FR": """
movie_intro_year: {title} est un film sorti en {year}, qui continue d'attirer l'attention du public. | C'est en {year} que {title} arrive sur les écrans. | {title} ({year}) fait partie des titres qui méritent qu'on s'y attarde. | L'année {year} a vu la sortie du film {title}.
movie_intro: {title} est un film qui continue d'attirer l'attention du public. | {title} fait partie des titres qui méritent qu'on s'y attarde. | Parmi les films qui valent le détour figure {title}. | {title} est une production qui mérite un second regard.
director: La mise en scène est signée {director}. | Derrière la caméra, on retrouve {director}. | {director} en assure la réalisation. | La réalisation a été confiée à {director}.
genres: Le film s'inscrit dans un registre bien identifié : {genres}. | Côté genre, le programme est clair : {genres}. | Il emprunte ses codes au registre suivant : {genres}. | L'étiquette de genre est la suivante : {genres}.
movie_default: Le film raconte son histoire d'une main sûre, en équilibrant les moments intimes et un rythme bien tenu. | Le récit se déploie à un rythme posé, laissant aux personnages et au décor le temps de respirer. | Au fond, il s'agit d'une histoire de personnes confrontées à des choix qui les mettent à l'épreuve. | L'univers du film est construit avec soin, et l'atmosphère comme l'interprétation en portent une grande partie.
movie_modern: Regardé aujourd'hui sur un ordinateur portable ou un grand écran, il captive davantage que bien des nouveautés. | À l'ère du streaming, où de nouveaux titres sortent chaque semaine, il mérite une place dans votre liste à regarder. | Ses thèmes paraissent étonnamment actuels et parlent à un public habitué à enchaîner les épisodes. | Pour une génération élevée aux plateformes de streaming, il rappelle tout ce qu'un seul film peut accomplir.
movie_critical: Ses principaux atouts sont une mise en scène assurée et une belle interprétation, même si le rythme faiblit à mi-parcours. | Le film impressionne par sa facture, mais certains choix narratifs semblent plus calculés qu'inspirés. | L'ambition est réelle, même si le scénario n'est pas toujours à la hauteur des images. | La critique salue son atmosphère et son ambition, tout en notant que toutes les intrigues secondaires ne se justifient pas.
movie_humorous: C'est le genre de film qui fait oublier le pop-corn, ce qui est une tragédie pour le pop-corn. | Prévoyez des en-cas, coupez votre téléphone et préparez-vous à en débattre longuement avec vos amis. | Le regarder ressemble à un tour de montagnes russes, avec moins de ceintures de sécurité et de meilleurs dialogues. | Si votre canapé pouvait parler, il réclamerait sans doute une deuxième séance.
person_intro: {name} est une personnalité bien connue des amateurs de cinéma. | Voici un bref portrait consacré à {name}. | {name} fait partie des figures qui ont marqué le monde du cinéma. | Dans l'univers du cinéma, {name} occupe une place bien à part.
birth: {name} a vu le jour {born}. | C'est {born} que {name} voit le jour. | L'histoire commence {born}, lorsque {name} voit le jour. | Selon les sources disponibles, {name} a vu le jour {born}.
person_default: Sa carrière a été marquée par une série de projets et de collaborations remarquables. | Au fil des années, ce travail a gagné le respect du public comme des collègues. | Les rôles et projets associés à ce nom témoignent d'un vrai savoir-faire et d'un engagement constant. | Son parcours dans l'industrie du cinéma reflète un travail régulier, de la curiosité et un talent pour les moments mémorables.
person_modern: Aujourd'hui, son travail touche de nouveaux publics grâce aux plateformes de streaming et aux réseaux sociaux. | À l'ère des vidéos virales et des communautés de fans en ligne, ce nom reste facile à repérer. | Beaucoup de jeunes spectateurs découvrent ce travail via les recommandations des plateformes plutôt qu'en salle. | Son image publique s'est bien adaptée à l'ère numérique, où interviews et extraits circulent sans fin.
person_critical: Sa filmographie compte de vraies réussites, même si tous les projets ne montrent pas le meilleur de ce talent. | La critique salue sa polyvalence, tout en relevant que certains choix de rôles ont été moins heureux. | Dans ses meilleurs moments, ce travail a une réelle profondeur ; dans les moins bons, il s'appuie sur des habitudes éprouvées. | Un regard mesuré sur ce parcours révèle un professionnalisme constant, mais aussi quelques périodes inégales.
person_humorous: La rumeur dit que même sa commande de café a quelque chose de cinématographique. | Cette carrière compte plus de rebondissements qu'un marathon nocturne de thrillers. | S'il existait un prix pour tenir le public en haleine, il faudrait prévoir une étagère supplémentaire. | Les fans sont nombreux, fidèles et parfois un peu trop passionnés par les anecdotes.
shared_default: Au fil des années, {subject} s'est fait une place durable dans les conversations sur le cinéma. | Pour de nombreux spectateurs, {subject} reste une référence vers laquelle on revient volontiers. | {subject} continue de retenir l'attention du public comme de la critique. | On comprend aisément pourquoi {subject} revient si souvent dans les discussions entre cinéphiles.
shared_modern: Aujourd'hui, {subject} refait régulièrement surface dans les recommandations des plateformes et sur les réseaux sociaux. | À l'heure des vidéos courtes et des fils d'actualité sans fin, {subject} suscite encore de vraies conversations. | Pour un public plus jeune, {subject} se révèle souvent une découverte étonnamment actuelle. | Grâce au streaming, {subject} n'est plus qu'à quelques clics d'une toute nouvelle génération.
shared_critical: Tout bien pesé, {subject} mérite la reconnaissance, même si tout ne résiste pas à un examen attentif. | Un jugement équitable sur {subject} doit tenir compte des réussites évidentes comme des faux pas occasionnels. | {subject} a ses faiblesses, mais ses qualités l'emportent nettement. | À l'aune des ambitions affichées, le bilan penche nettement en faveur de {subject}.
shared_humorous: Petite astuce : prononcer « {subject} » lors d'une soirée garantit un débat de deux heures. | {subject} compte plus de fans que votre groupe de discussion n'a de messages non lus, et ce n'est pas peu dire. | La légende raconte que quiconque ignore {subject} passe à côté de la moitié des blagues de cinéphiles. | Abordez {subject} avec curiosité, et peut-être un en-cas : les deux vont très bien ensemble.
closing: En somme, {subject} vaut largement le temps qu'on y consacre. | Toute personne curieuse de cinéma trouvera avec {subject} matière à découverte. | {subject} constitue un excellent point de départ pour une longue soirée cinéma. | Quels que soient vos goûts, {subject} mérite au moins un regard attentif.
""",
    "es-ES": """
movie_intro_year: {title} es una película de {year} que sigue atrayendo la atención del público. | Fue en {year} cuando {title} llegó a las pantallas. | {title} ({year}) forma parte de los títulos que merecen una mirada más detenida. | El año {year} trajo el estreno de {title}.
movie_intro: {title} es una película que sigue atrayendo la atención del público. | {title} forma parte de los títulos que merecen una mirada más detenida. | Entre las películas que vale la pena conocer se encuentra {title}. | {title} es una producción que merece una segunda mirada.
director: La dirección corre a cargo de {director}. | Tras la cámara se encuentra {director}. | {director} firma la dirección. | La película lleva la firma de {director} en la dirección.
genres: La película se inscribe en un registro bien definido: {genres}. | En cuanto al género, la propuesta es clara: {genres}. | Toma sus códigos del siguiente registro: {genres}. | La etiqueta de género es la siguiente: {genres}.
movie_default: La película cuenta su historia con pulso firme, equilibrando los momentos íntimos con un ritmo bien sostenido. | El relato avanza a un ritmo pausado, dejando espacio para que los personajes y el escenario respiren. | En el fondo, es una historia sobre personas enfrentadas a decisiones que las ponen a prueba. | El mundo de la película está construido con cuidado, y la atmósfera y las interpretaciones sostienen buena parte del peso.
movie_modern: Vista hoy en un portátil o en un televisor grande, sigue enganchando más que muchos estrenos recientes. | En la era del streaming, con títulos nuevos cada semana, merece un lugar en tu lista de pendientes. | Sus temas resultan sorprendentemente actuales y conectan con un público acostumbrado a ver series de un tirón. | Para una generación criada con plataformas de streaming, recuerda todo lo que puede lograr una sola película.
movie_critical: Sus mayores virtudes son una dirección segura y las interpretaciones, aunque el ritmo decae en el tramo central. | La película impresiona por su factura, pero algunas decisiones narrativas parecen más calculadas que inspiradas. | Hay una ambición real, aunque el guion no siempre está a la altura de lo visual. | La crítica elogia su atmósfera y su ambición, aunque señala que no todas las subtramas están justificadas.
movie_humorous: Es de esas películas que hacen olvidar las palomitas, lo cual es una tragedia para las palomitas. | Prepara algo para picar, silencia el móvil y disponte a discutirla largo y tendido con tus amigos. | Verla es como subir a una montaña rusa, solo que con menos barras de seguridad y mejores diálogos. | Si tu sofá pudiera hablar, probablemente te pediría verla otra vez.
person_intro: {name} es una figura bien conocida por los amantes del cine. | Este es un breve retrato dedicado a {name}. | {name} forma parte de las personas que han dejado huella en el cine. | En el mundo del cine, {name} ocupa un lugar propio.
birth: {name} nació {born}. | {name} vino al mundo {born}. | La historia comienza {born}, cuando nace {name}. | Según los registros, {name} nació {born}.
person_default: Su carrera ha estado marcada por una serie de proyectos y colaboraciones notables. | Con los años, este trabajo se ha ganado el respeto del público y de sus colegas. | Los papeles y proyectos asociados a este nombre muestran oficio y compromiso. | Su trayectoria en la industria del cine refleja trabajo constante, curiosidad y talento para los momentos memorables.
person_modern: Hoy, su trabajo llega a nuevos públicos gracias a las plataformas de streaming y las redes sociales. | En una época de vídeos virales y comunidades de fans en línea, este nombre sigue siendo fácil de encontrar. | Muchos espectadores jóvenes descubren este trabajo a través de recomendaciones en plataformas más que en las salas. | Su imagen pública se ha adaptado bien a la era digital, en la que entrevistas y fragmentos circulan sin fin.
person_critical: Su filmografía incluye auténticos aciertos, aunque no todos los proyectos muestran lo mejor de su talento. | La crítica elogia su versatilidad, aunque señala que algunas elecciones de papeles fueron menos afortunadas. | En sus mejores momentos, este trabajo tiene una profundidad real; en los más flojos, recurre a hábitos conocidos. | Una mirada mesurada a esta trayectoria revela una profesionalidad constante, junto con algunas etapas irregulares.
person_humorous: Se rumorea que hasta su pedido de café tiene algo de cinematográfico. | Esta carrera tiene más giros que una maratón nocturna de thrillers. | Si existiera un premio a mantener al público en vilo, haría falta una estantería extra. | Sus fans son muchos, leales y, a veces, demasiado entusiastas con las curiosidades.
shared_default: Con el paso de los años, {subject} se ha ganado un lugar estable en las conversaciones sobre cine. | Para muchos espectadores, {subject} sigue siendo un punto de referencia al que vale la pena volver. | {subject} sigue atrayendo la atención tanto del público como de la crítica. | Es fácil entender por qué {subject} aparece tan a menudo en las charlas entre aficionados al cine.
shared_modern: Hoy, {subject} reaparece con frecuencia en las recomendaciones de las plataformas y en las redes sociales. | En tiempos de vídeos cortos y feeds interminables, {subject} todavía logra generar conversaciones de verdad. | Para el público más joven, {subject} suele ser un descubrimiento sorprendentemente actual. | Gracias al streaming, {subject} está a pocos clics de distancia para toda una nueva generación.
shared_critical: En conjunto, {subject} merece reconocimiento, aunque no todo resiste un examen detallado. | Una valoración justa de {subject} debe reconocer tanto los logros evidentes como los tropiezos ocasionales. | {subject} tiene sus debilidades, pero sus virtudes pesan claramente más. | Medido con la vara de sus propias ambiciones, el balance de {subject} es claramente positivo.
shared_humorous: Dato curioso: mencionar «{subject}» en una fiesta es una forma infalible de empezar un debate de dos horas. | {subject} tiene más fans que mensajes sin leer tu chat de grupo, y eso ya es decir. | Cuenta la leyenda que quien no sabe nada de {subject} se pierde la mitad de los chistes cinéfilos. | Lo mejor es acercarse a {subject} con curiosidad y, quizá, algo de picar: ambas cosas combinan de maravilla.
closing: En definitiva, {subject} bien merece el tiempo que se le dedica. | Cualquier persona curiosa por el cine encontrará en {subject} algo digno de descubrir. | {subject} es un buen punto de partida para una larga velada de cine. | Sean cuales sean tus gustos, {subject} merece al menos una mirada atenta.
""",
}


def _parse_block(block: str) -> dict[str, tuple[str, ...]]:
    slots: dict[str, tuple[str, ...]] = {}
    for line in block.strip().splitlines():
        slot, _, alternatives = line.partition(":")
        slots[slot.strip()] = tuple(text.strip() for text in alternatives.split(" | "))
    return slots


_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    locale: _parse_block(block) for locale, block in _TEMPLATE_BLOCKS.items()
}

# Labels are chosen so they read naturally in the templates' list positions
# (e.g. Polish nominatives after "to"/"jak", English nouns after "fans of").
# Column order follows LOCALES.
_GENRE_LABELS: dict[str, tuple[str, str, str, str, str]] = {
    "action": ("film akcji", "action", "Action", "action", "acción"),
    "drama": ("dramat", "drama", "Drama", "drame", "drama"),
    "comedy": ("komedia", "comedy", "Komödie", "comédie", "comedia"),
    "crime": ("kryminał", "crime", "Krimi", "policier", "crimen"),
    "thriller": ("thriller", "thriller", "Thriller", "thriller", "suspense"),
    "science fiction": (
        "science fiction",
        "science fiction",
        "Science-Fiction",
        "science-fiction",
        "ciencia ficción",
    ),
    "fantasy": ("fantasy", "fantasy", "Fantasy", "fantasy", "fantasía"),
    "animation": ("animacja", "animation", "Animation", "animation", "animación"),
    "romance": ("romans", "romance", "Liebesfilm", "romance", "romance"),
    "war": ("film wojenny", "war cinema", "Kriegsfilm", "film de guerre", "bélico"),
    "horror": ("horror", "horror", "Horror", "horreur", "terror"),
    "adventure": ("film przygodowy", "adventure", "Abenteuer", "aventure", "aventura"),
    "mystery": ("film z zagadką", "mystery", "Mystery", "mystère", "misterio"),
    "biography": (
        "film biograficzny",
        "biographical drama",
        "Biografie",
        "biographie",
        "biografía",
    ),
    "history": (
        "film historyczny",
        "historical drama",
        "Historienfilm",
        "film historique",
        "historia",
    ),
    "family": ("film familijny", "family cinema", "Familienfilm", "film familial", "cine familiar"),
    "musical": ("musical", "musical", "Musical", "comédie musicale", "musical"),
    "western": ("western", "western", "Western", "western", "wéstern"),
}

# Catalog data comes from several sources that spell a few genres differently.
_GENRE_ALIASES: dict[str, str] = {
    "sci fi": "science fiction",
    "scifi": "science fiction",
    "biopic": "biography",
    "historical": "history",
    "animated": "animation",
    "romantic": "romance",
}

_CONJUNCTIONS: dict[str, str] = {
    "pl-PL": " i ",
    "en-US": " and ",
    "de-DE": " und ",
    "fr-FR": " et ",
    "es-ES": " y ",
}

_MONTHS: dict[str, tuple[str, ...]] = {
    # Polish dates need the genitive month form ("2 września").
    "pl-PL": (
        "stycznia",
        "lutego",
        "marca",
        "kwietnia",
        "maja",
        "czerwca",
        "lipca",
        "sierpnia",
        "września",
        "października",
        "listopada",
        "grudnia",
    ),
    "en-US": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "de-DE": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    "fr-FR": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "es-ES": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
}

_SMALL_TITLE_WORDS = frozenset(
    {"a", "an", "and", "the", "of", "in", "on", "at", "to", "for", "or", "nor", "but", "by"}
)
_ROMAN_NUMERALS = frozenset({"ii", "iii", "iv", "vi", "vii", "viii"})
_NAME_PARTICLES = frozenset(
    {"van", "von", "de", "der", "den", "da", "del", "di", "du", "dos", "das"}
)
_MIN_YEAR, _MAX_YEAR = 1888, 2100


def _templates_for(locale: str) -> dict[str, tuple[str, ...]]:
    try:
        return _TEMPLATES[locale]
    except KeyError:
        raise ValueError(
            f"Unknown locale {locale!r}; expected one of: {', '.join(LOCALES)}"
        ) from None


def _tone(context_tag: str) -> str:
    # Unknown tags are tolerated so new prompt contexts never break generation.
    tag = context_tag.strip().lower()
    return tag if tag in _TONES else "default"


def _pick(rng: random.Random, table: dict[str, tuple[str, ...]], slot: str, **facts: object) -> str:
    return rng.choice(table[slot]).format(**facts)


def _join(locale: str, items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    conjunction = _CONJUNCTIONS[locale]
    last = items[-1]
    # Spanish "y" becomes "e" before an /i/ sound ("acción e historia").
    if locale == "es-ES" and re.match(r"h?i(?![aeiouáéíóú])", last.lower()):
        conjunction = " e "
    head = ", ".join(items[:-1])
    if locale == "en-US" and len(items) > 2:
        head += ","
    return f"{head}{conjunction}{last}"


def _translate_genre(genre: str, locale: str) -> str:
    key = re.sub(r"[-_\s]+", " ", genre.strip().lower())
    key = _GENRE_ALIASES.get(key, key)
    labels = _GENRE_LABELS.get(key)
    if labels is None:
        return genre.strip()
    return labels[LOCALES.index(locale)]


def _genre_list(genres: Sequence[str], locale: str) -> list[str]:
    labels: list[str] = []
    for genre in genres:
        if not genre or not genre.strip():
            continue
        label = _translate_genre(genre, locale)
        # Aliases can map two catalog genres onto one label; say it only once.
        if label not in labels:
            labels.append(label)
    return labels


def _parse_birth_date(raw: str | None) -> tuple[int, datetime.date | None] | None:
    """Return (year, full date or None), or None when no year can be found."""
    if raw is None or not raw.strip():
        return None
    match = re.match(r"\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", raw)
    if match is None:
        loose = re.search(r"\b(\d{4})\b", raw)
        return (int(loose.group(1)), None) if loose else None
    year = int(match.group(1))
    if match.group(3) is None:
        return year, None
    try:
        return year, datetime.date(year, int(match.group(2)), int(match.group(3)))
    except ValueError:
        # An impossible day/month still tells us the year, which is worth keeping.
        return year, None


def _render_when(locale: str, year: int, day: datetime.date | None) -> str:
    if day is None:
        return {
            "pl-PL": f"w {year} roku",
            "en-US": f"in {year}",
            "de-DE": f"{year}",
            "fr-FR": f"en {year}",
            "es-ES": f"en {year}",
        }[locale]
    month = _MONTHS[locale][day.month - 1]
    if locale == "pl-PL":
        return f"{day.day} {month} {year} r."
    if locale == "en-US":
        return f"on {month} {day.day}, {year}"
    if locale == "de-DE":
        return f"am {day.day}. {month} {year}"
    if locale == "fr-FR":
        ordinal = "1er" if day.day == 1 else str(day.day)
        return f"le {ordinal} {month} {year}"
    return f"el {day.day} de {month} de {year}"


def _render_where(locale: str, place: str) -> str:
    # Polish would need the locative case of an arbitrary place name; the
    # "w miejscowości X" construction keeps X in the nominative and stays correct.
    prefix = {"pl-PL": "w miejscowości", "en-US": "in", "de-DE": "in", "fr-FR": "à", "es-ES": "en"}
    return f"{prefix[locale]} {place}"


def _render_born(locale: str, birth_date: str | None, birthplace: str | None) -> str | None:
    parsed = _parse_birth_date(birth_date)
    place = birthplace.strip() if birthplace else ""
    parts: list[str] = []
    if parsed is not None:
        when = _render_when(locale, parsed[0], parsed[1])
        # US style sets off the year of a full date with commas on both sides.
        if locale == "en-US" and parsed[1] is not None and place:
            when += ","
        parts.append(when)
    if place:
        parts.append(_render_where(locale, place))
    return " ".join(parts) if parts else None


def compose_movie_description(
    *,
    title: str,
    year: int | None,
    director: str | None,
    genres: Sequence[str],
    locale: str,
    context_tag: str,
    seed: int,
) -> str:
    """Compose a two-paragraph movie description in ``locale``.

    The first paragraph presents the facts (title, year, director, genres) and
    a tone-specific observation; the second gives a tone-specific reflection
    and a closing line. Missing facts are skipped rather than printed.
    ``context_tag`` selects the tone ("default", "modern", "critical",
    "humorous"); unknown tags fall back to the default tone.

    Raises:
        ValueError: if ``locale`` is not one of :data:`LOCALES`.
    """
    table = _templates_for(locale)
    tone = _tone(context_tag)
    rng = random.Random(f"{seed}|{locale}|{context_tag}|{title}")
    shown_title = title.strip()

    if year is not None:
        first = [_pick(rng, table, "movie_intro_year", title=shown_title, year=year)]
    else:
        first = [_pick(rng, table, "movie_intro", title=shown_title)]
    facts: list[str] = []
    if director and director.strip():
        facts.append(_pick(rng, table, "director", director=director.strip()))
    labels = _genre_list(genres, locale)
    if labels:
        facts.append(_pick(rng, table, "genres", genres=_join(locale, labels)))
    # Varying the order of the fact sentences adds variety beyond word choice.
    rng.shuffle(facts)
    first.extend(facts)
    first.append(_pick(rng, table, f"movie_{tone}"))

    second = [
        _pick(rng, table, f"shared_{tone}", subject=shown_title),
        _pick(rng, table, "closing", subject=shown_title),
    ]
    return " ".join(first) + "\n\n" + " ".join(second)


def compose_person_bio(
    *,
    name: str,
    birth_date: str | None,
    birthplace: str | None,
    locale: str,
    context_tag: str,
    seed: int,
) -> str:
    """Compose a two-paragraph biography of a film personality in ``locale``.

    ``birth_date`` may be an ISO date ("1964-09-02"), a year-month or a bare
    year; a full date is spelled out in the locale's style, otherwise only the
    year is mentioned, and an unusable value is omitted. The wording never
    assumes the person's gender. Tone handling matches
    :func:`compose_movie_description`.

    Raises:
        ValueError: if ``locale`` is not one of :data:`LOCALES`.
    """
    table = _templates_for(locale)
    tone = _tone(context_tag)
    rng = random.Random(f"{seed}|{locale}|{context_tag}|{name}")
    shown_name = name.strip()

    first = [_pick(rng, table, "person_intro", name=shown_name)]
    born = _render_born(locale, birth_date, birthplace)
    if born is not None:
        first.append(_pick(rng, table, "birth", name=shown_name, born=born))
    first.append(_pick(rng, table, f"person_{tone}"))

    second = [
        _pick(rng, table, f"shared_{tone}", subject=shown_name),
        _pick(rng, table, "closing", subject=shown_name),
    ]
    return " ".join(first) + "\n\n" + " ".join(second)


def _slug_words(slug: str) -> list[str]:
    return [word for word in re.split(r"[^0-9a-z]+", slug.strip().lower()) if word]


def guess_movie_facts(slug: str) -> dict[str, object]:
    """Derive plausible movie facts from a catalog slug.

    A trailing four-digit number between 1888 and 2100 becomes the year, the
    remaining words become a title-cased title with small words kept lowercase
    unless first. A slug made of a single number ("1917") is a title, not a
    year. Director and genres cannot be guessed and are left empty.
    """
    words = _slug_words(slug)
    year: int | None = None
    if len(words) > 1 and re.fullmatch(r"\d{4}", words[-1]):
        candidate = int(words[-1])
        if _MIN_YEAR <= candidate <= _MAX_YEAR:
            year = candidate
            words = words[:-1]
    titled: list[str] = []
    for index, word in enumerate(words):
        if word in _ROMAN_NUMERALS:
            titled.append(word.upper())
        elif index > 0 and word in _SMALL_TITLE_WORDS:
            titled.append(word)
        else:
            titled.append(word[:1].upper() + word[1:])
    title = " ".join(titled) or slug.strip()
    return {"title": title, "year": year, "director": None, "genres": []}


def guess_person_facts(slug: str) -> dict[str, object]:
    """Derive a plausible person name from a catalog slug.

    Words are capitalized except common surname particles ("van", "de", ...)
    after the first word; trailing numeric disambiguators are dropped. Birth
    data cannot be guessed and is left as ``None``.
    """
    words = _slug_words(slug)
    while len(words) > 1 and words[-1].isdigit():
        words = words[:-1]
    parts = [
        word if index > 0 and word in _NAME_PARTICLES else word[:1].upper() + word[1:]
        for index, word in enumerate(words)
    ]
    return {"name": " ".join(parts) or slug.strip(), "birth_date": None, "birthplace": None}
