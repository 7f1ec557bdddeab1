// Words for the richer tokenizer of the tool-calling test model (tinyGguf.ts): the 5,000 most
// frequent words (2-16 letters, lowercased) of this repository's own README, docs/, src/ and
// test/, made once with `tr -c A-Za-z '\n' | sort | uniq -c | sort -rn`. With them a real client's prompt
// (Claude Code's ~20k tokens of English and JSON) tokenizes to about what a real BPE vocabulary
// makes of it, instead of one token per character.
export const TINY_VOCABULARY_WORDS: readonly string[] = `
const the string this await assert if return from undefined error import type model and id
number name equal new it path server profile api of is for json mlx manager export vscode async
in text function request status as file message fs options void promise user engine get url
length true token not node with port to private on value code tokens client let join data
record shared servers content llama body key or one state now ok process info entry at no pid
models profiles start its size chat repo hub res first store readonly dir stop usage unknown an
false post signal null map out push max test gguf role logger tool that stream files deepequal
env try call bytes catch resolve when buffer run running openai log every what messages result
object event cache throw chunk ctx download admin interface answer src once match after set
profileid http snapshot boolean line ms root events only email by failed else page last base
command per password gateway reply kind version class host so are users requests list close
metrics before engines revision end team has typeof tools stringify calls input target was tiny
never folder started datadir headers create child repoid prompt downloads args default auth
delete all write response etag reason completions conversation real index app pending commit
lines entries use route fixture context lm source method while row meter serverinfo math req
waitfor array services min date hfcache format slice label done raw system next utf time opts
current window parse count profilename header read apierror again settings instanceof anthropic
stopped timeout part filter config changed completion then locator deps names found upstream
find stdout open describe memory logs values home journal mode login health title db missing
same listener connection quantization includes without helpers created abort written main
choice each dash action over yes through keys finish chunks choices parsed description ts seed
second hf extension errors optional workspace up starts case runs kept where send field trim
stderr managerclient exit fingerprint total own failure cachedir arguments restart local back
delta reject community check still params mib them split ready group readfilesync change strict
starting sql tls sha free finally answers settimeout none streams owner limit copy constructor
endpoint continue refs nothing account which block blobs aborted update shape cpp conversations
signed parts com be socket disk vs timer other option completiontokens alias abortsignal secret
report query keeps idle button some stats samples platform os off into commands dashboard fd
claude bits auto failures unhealthy startswith include fields accounts example address wait
partial compare any job blob round mb approved refused recursive tostring js huggingface view
sent does assistant writes fx full crypto spawned revisions replace reads may invalid spec
service hidden details bit schema fake ip cli two removetempdir ref prompttokens parameters
long left image could webview uri supervisor safetensors px prefix embedding temperature search
dispose add streamid sort output link exited closed certificate story step stat pick directory
adopted access too until stopping restarts performance tests authorization architecture plain
item history tile scan package gone form fail counts controller userinfo teammate removed
records must executable database crash warn waiting table seconds progress keep connect built
baseurl their scanner loopback commandcontext application another uint there rel head column
runcli org meta extra changes abortcontroller warnings tofixed seq connected cannot can bearer
audit weather top stops sign seen results required memorylogger dist who vsix script retry md
literal items fetch cancel writefilesync whole they sample outside offset deleted cut cached
rows register linux createdat buf sampling parseorthrow npm net lock expected tags startmanager
startedat since shown repeat old maxtokens insert footprint checks arg threads nodejs most
mkdirsync maketempdir limits existssync bin snapshots program load kill ids executecommand td
stored spawn sigkill show self rig minute logfile html click cachedmodel used txt streamed
incomplete got finished both actor visible serverentry readdirsync patch opens listen huberror
holds gated element el th refuses recent panel machine here figures empty updated typescript
paced fresh edit disable weight terminal tail tab shows routes install idorname holder
generation ended bad userid taken sequence says runningmanager offline issue infer gatewayerror
contextlength asked ask active whose watcher vm under st rest pages made macos hugging https
hash force fastify face byid break allowed template statsync integer how fakeprofile disabled
answered aliases would takes states see rss order logging exec engineid chosen browser apikey
alive within tlspin share sendjson reliability loaded int div chromium timeoutms silentlogger
saved recorded rate previous ports peer like lastmodified images have floor extends
createprofile clear big writehead types times soak rmsync reports range param named minutes
dirname wrong validation unavailable than serve returns metadata live follow flag draft aria
updatedat sharedstatus rotated restarted repos ones needs more lfs launch later eslint day
damaged city background already agent added zod unit tmp served select scripts formatbytes
flavor elements build argon absent views statement snippet setting readme plan large intervalms
given front folders embeddings do detail cpu byte always against switches success sse sigterm
side resume rejects proc png outcome openaierror metricssnapshot memorybytes figure exclude
eventbus crashes var valuetype throws storeerror restartoncrash replay qwen processstart
modeltype migrations many lists init gpu gets final destroy delay contexts connections clients
cleartimeout cancelled but bak applied addeventlistener writehfrepo tokenspersecond streaming
stand sleep rotate migration itself indexof filename endswith ends composer border bindir topp
targets serverlogfiles sends scope reported registered re queue problem points pidrunning
payload module logtail likes leaves killgroups installed fails execpath did control broken
upstreammodel tolowercase stays span safeparse repopath readiness processes pin num metered me
makes groupsize exists estimate dims asks watch summary such small skipped publish instead
innertext hex hastext getchildren generator font fastifyinstance columns carries cachescanner
argument yet writemlxrepo warning uses statuscode space retryaftersec readyat pressure paths
nullish mlxrepofiles labels interval incomingmessage hit generated enum contributes card you
word width translate totalbytes tokenizer tensors standins shell shard right queued
managerstate le just environment darwin complete cdn bytelength your watchers valid tooltip sum
suite sep sampler pgid newer modelpath layers inflight hi go flood document docs disposable
cpupercent corrupt claims busy approval usagemeter ttft theme settext resolves put probe pieces
piece passphrase location listens listening killed jwt fastifyrequest exist exactly decode curl
contextsize batch about aborts session random properties pids ignore help fit editor dead
concat bundle za web subarray serverresponse pkg picker pass mtimems msg libraryname gives fill
expiresat exact dtype discard deadline commits cert buttons box append adminpage acknowledged
words unreachable take statements resolved reopened python pinned paris mjs looseobject limited
idletimeoutsec htmlelement family existing drop down debug csrf cookie contenttype checked
carry bridge blobfetcher backup arm apply alloc aftereach userrecord usagerecord upstreamurl ui
toggleattr textpart symlink sub serves say restarting registry regexp readuint ps passes origin
nullable lost llamascript linked kb identity freedbytes fastifyreply fast executables dropped
deletemodel createserver conflict completed badge artifacts waits shards security print
principal otherwise onabort network maxretries markdown level filepath exported errorbody
digest conversationid childprocess canary approve also addressinfo actions why unhealthysince
tiles subscription someone short sequencedevent sdk screenshot profileinput passwords manifest
logfields joined href hftoken goes expectapierror dark csv copies color clock chatmessage audio
argv adoption admins way walkthrough twice textcontent tell standin remove question peak orphan
nodepath memoryusedbytes memorysource makefixture make listed isarray ioreg inline hello
extraargs exits estimatetokens enter earlier donebytes csp comes characters apple zip wasm turn
ttftms tr touch systemprompt slow several require press position notice layout known isobject
installhint hang goal flags fire extensionapi errorcode depth deltas core col boundary
beforeeach admintoken adapter whether watches ttftp tensor speed sink shutdown section schemas
release public processstarttime pr others nonce managers mac implements hs gatewaykey functions
finishreason finds failing deletes createhash bodies blobsdir binary absolute work usedstorage
tokenevents teammates stopreason servermetrics secrets received plus pattern parallel numbers
note logged listeners limiter lasttokenat lastseq groups follows filecount exitcode etags dev
contextvalue cause bundled anonymous alert win we verify tokenspersec tokensource tokenize
switch super strictobject stopserver startserver serverrecords separate selfsigned rotation
restarttimer refresh reduce reach profileservice primary pagesize onevent notequal mid matches
macosfixture language io ins imported hostmessage gatewaykeyinfo formats float firsttokenat
filetype fakehub expires expired device describeerror counted caller cachedeleteerror between
yield warm vocab vmmap verdict unreadable union tempdir stale sqlparam splice signs sidebar
serversupervisor serverlist samplecount rm relative reading picked phys pane ours opendashboard
newest loads library keyfile height fetched fakeupstream everything enospc encoding elsewhere
dropusageonly counters cmd closesync calling blocks began bar anything accountservice accept
xdg whatever utilization unless ttl truncated truncate tree toolcall tokensperseclast those
sync single setinterval rev reused replystats replayed quoted profilesfrom prints present pool
pathname our ondidchange nobody muted moved mocha meterusage media managerapp iq im hubclient
had gguffiles errnoexception during dog detached cleanups catalog blobpath bindings being
attempt ai across workbench weights wanted urls upon terminals steps stdio stay skip silicon
setstate serverstate resumes reset rename remembered relayed ratio randombytes profileoption
pre pooled placeholder opensync openshared oai notes newline modules modelitem metricsservice
margin loop lf launchid latest isdirectory inside httprequest global give foreground foreach
flush fixed filesize etc confirmed closes charset busiest bucket bob behind batches away aside
arrives applies alone went tokenservice tobody timings timed sockets settled serveritem
serverdirectory seededbytes said retried rescan reader ratelimiter quick provider prometheus
processenv polling packed notices metricpoint logout kv integration faults exp evaluate drops
downloadservice downloadrequest diagnostics deleteprofile credentials contributed children
channel callid callback bytespersecond bare aggregates writetinygguf workdir windows waited
uptime upstreamclient unchanged unauthorized turns treeitem topk tokentype themeicon task
sysctl style statuses sizes shutting sharedaccess settle sees reserve remote reload relays
redirect reachable poll place pipe nodes need naming moduledir mlxopenaiserver mlxlm mismatch
minp memorytotalbytes measured longer locateengine loading leave least isportfree installs
imports hold hasadmin git gguffile following fits ffffff fetchfn explicit eventrecorder err
enough duplicate diskfailure denied creates crashed chats carddata called blocked below arrived
adapters adapterpath vendor upload unsafe unref touppercase tmpdir sources snapshotdir should
shift sharedstart scales safetensorserror safe repoidfromfolder renamed quiet protocol
playwright pagecontext pace onchange nextrecord move monaco modellist modelformat meters lora
logdir located links lifetime lastminute lan issues islive instruct ignored idletimeoutms
hubsearchquery httpstatus hostile heads groupalive ggufrepo getbyrole general frozen forgets
flight extensions execfile escape english engineinfo doesnotmatch display dialect destroyed
delimiter defs daily cwd cursor copied concurrent common collection closing clearinterval came
bound banner arrive yaml writer will whisper were watchercount usr usagechunk unsupported
unique tps toolcalls took throwifnoentry textarea terminator svg survey stdin sseevent sqlite
sparkline sorted sliders skips serversview serverlauncher serverfixture scrolltop save
revokedat reserved requestfor renders relay readable printed preferred portallocator policy
percent penalty past passwordproblem passed padding official modulebits modal matchall
logoutputchannel light lastid knows jobs isinteger isfile held gib fromentries forward focus
fix few execfilesync envvar enabled edited downloadstarted declared cost cores console
compressor cleaned chatwrapper carol beta basename attention answertranslator activestream xs
wrote works worker wired wide ver variables userpatch us unsubscribe trust transcriptions
tokenversion tells startfakehub ssestreammeter spawnsync spaces snapshotpath sh serverwatcher
secretstorage revoked resync resumed requestmodel requestlog reporoot renamesync quantized
profileoptions pause passwd parses outcomes openaierrorbody oldest offers nonnegative non mine
memsize marked llamatext latin lastrequest lastloginat keepalivems journalbak joins
intermediate installplan installengine included hw httpokprobe holding hand goto generate
gatewaymodel frame forbidden followevents fixtures filebytes feed esbuild embed emails edits
durationms direct diagnostic describeduration decoded dashboardhost damage crashimage
constraint come clihome chatstream candidate builds biases benchout begin accepted
withfiletypes windowms useritem uptimeseconds untouched units typed toopenaimessages toolu
toolarge toggle tinyggufbytes targetemail tabs symlinksync stopsequence startupms signjwt
signalgroup setattribute serverlogs selected searchparams saying rssof restored repodir
registers quant pull profilesfile profileitem places pipx pip pino pidusage picks period
parsefootprint parseapplesize onstatechange normal nope nodejournalio multipart modelgroupitem
modelfoldername missed metafileref metaentry messagesrequest means maxrestarts maxinputtokens
malformed look lockinfo lockfile localecompare letters lastusedat larger keyboard keepalive
ismissingfile interrupted internal inputs inject iconpath hubmodelinfo grammar gracems glob
generates gauge freed flushusage fetches far excluded ev enoent enginebundle endpointsnippet
enable dirs danger cross credential createsink concurrency clipboard checksum chattemplate
chatcontentpart certfile ceil bool blank attn apikeyinfo anthropicanswer alpha alg activity
writable working withdescription wins welcome verb userrole unset toisostring togbnfschema
throwifaborted three third teamclient sunny subscribers subscribe submit storeerrorwith stopall
stmt sonnet solid snapshotsdir snapshoteveryms slope silent shot serverrecord scannedat scanned
rotateiflarge restartbackoffms replaced replacechildren render removes registrations regex
refsdir recovered readsync readlogtail promises presented postsse pipelinetag periodic
pendingusers passwordhash parser parseengineargs packages oslo nodellamacpp my mtime modelfrom
launcher lastaccessed judgehealth journalio iat hungup hubfile hashes hands half haiku
groupterminator grace gbnfjsonschema gb freeport findprofile fault fakefile extensionpath
exports exportprofiles expiry expand exchange epoch emit electron duration digits died
development decisions dave dashboardpage css cols cmdline clientsignal chatcmpl changeusers
cachewatcher busymetrics best become approveduser apikeycreated answering alignment acks
accepts abortable ws writeggufrepo writeevent writablefinished withprogress webviewrequest
watching watched waitforstate waitforreadiness validated utc uniform trusted torn toopenaitools
tinygguf thread these textdecoder terminate temp tagged tag summaries suggestedport storefiles
stopallservers stamp something sigkilled showquickpick sets serverstarts series sequences
sending selection secondary score scheme saw saves sampled safetensorsbytes rotategatewaykey
rollback returntype restartwindowms restartserver restartinms rescanrepo replaces rendered
released relayresult reasoning readhubtoken readbody reaches rather randomuuid ran race py
pwned puts proj profilepatch positive polls point playground phase peercertificate pad original
onclose oid often nls native movedaside modeloptions modelconfigerror mkdtempsync mixed matched
maps manage looks logmaxbytes llamaengine lives linear launched killedat journalsize isrunning
isprocessrunning integrity inodes infinity importmissing ignores ignorefocusout huburl
hubsearchlist historypoints high headerssent grows grep github getattribute freememory
formatduration fixtureinfo filestotal filesdone fastapi eventemitter etaseconds ensurerunning
endif emitfrom emailinput drain downloadsize downloaded dom documents doc disconnected desktop
days dangling cookies compatible collect cold coder cleanup choose chatmodel cat carried
canceldownload cachereal buildcommand bounded blockeduntil binaries beyond assign approves
applesilicononly adopts adds accent www wsfile writefile workspacefolder webviewmessage want
waituntilready vocabulary validate usagelist usageerror upstreambody transformers track told
tok testing teamnode tcp tbody syntax subscriber strong streamevent stmts startabort snippets
slug sinkfactory shellword shapes setencoding serverlogtail serveradoption servedbefore
sentences sendrequest secure scripted scalesbiases runstate runcommand rssbefore rl
restartmanager resolvedatadir rejectswith registration reached published publicserverinfo proto
progresslocation processinfo prepared posts postmessage portclosed pop physical
parsemodelconfig padbytes overrides opened onerror oncopy notification norm nlibrary namekey
multimodal mlxdir met memento maxlength maxbytes markers mapped managerstatus managerevent
makesupervisor loginresult llamachatwrapper lib leader layer late lastcpums lastactivity
kvbytes keyed journalline joinpath issameprocess isfinite installstandins hung hostbridge hook
homedir heldfinish healthresult good gguferror ggml getstate getbylabel generations
generationqueue gatewayendpoint garbage fuzz freepercent formatnumber followed flatmap fills
fetchblobrequest even eta escapes eq engineprobe duplicateprofile dompurify dirent deprecated
defaultengine decoder debouncems dashboardclient cuts ctimems createfirstadmin costs convert
constants confirm comparison commitfor chatchunk broke bench authorize anyfreeport among ada
acked zero writesync wrap windowsize waitforchange waiter vectors vector valueelement validates
uv usual userusagerow userstatus usageof usable uploadbytes unwatch tsx trustremotecode
translated transfer toolresultpart toolindex toolchoice toolcallpart tookms timers thead texts
textgenerator tested teamsnapshot teamgroupitem subscriptions strings streamstate storeat
stopsharedserver startgatewayapp stack signature sigint shares sharedurl sharedlistener
setprofiles sentat saveconversation sampledat rssat rs revoke resumedfrom responseheader
reposize repocontext repeatable remaining refreshusers recovery recoveredfrom readsettings
readablestream rawrepo radius profilefields profiledocuments prepare persist perevent
percentage pendingcount partials parsevmstat parsemodelcard parameter owned opt onrequest
onprogress onmessage oneof omit nowhere normaliseemail needle nav moment modelid modelcatalog
mlxquantization mlp mimetype metricstimer median matter mate matching manual machines loose
logslug logkeep locks llamaprofile llamachat lets lastindexof kinds kills keysbyid keeping
journalcopies journalbytes javascript itemtype isrecord ischatprofile inuse instance
insensitive inputschema idsornames httponly haswords handle getconfiguration gave functiontool
formatprometheus flat finishchunk finder filefor fg extract execute except exceeded everyms
encode draftmodel downloaditem downloading disconnect dimensions dim different dialectof
describemodelref decodeseconds decision currentpassword ctxsize csrffield cspsource
copyendpoint contextstore contains connecting comparetarget compareon comment commandmatches
cjk ci chmodsync chattab chatrequestbody character certpem cccccc caption cancels cancellable
cachechange buffering bind begun batched awaited auxiliary auditlist attrs assertopen arrival
appendlogline appended anyone zipentry writableended weightmap weak wake victim verified
valuestart userusagelist upstreams updateprofile unpacked tryrun traffic tracked toolmode
tokenusage themecolor textencoder teammodelitem teamconnection systemmetrics stylesheet
storedsession stoppedat statsline startwatching startupstream starttimeoutms startshared
startnode startfixturehub sqlfailure spread specific speaks snippetkind slower skippingline
signals showinputbox setup setmaxtokens serverhistory searchhub screenshots schemaversion
scheduled scalar samplingoptions runner responses resolvemodel resolvedmodel renames relpath
refusal refreshlist recorder readlinksync readline readings readfile pure punctuation prose
prompts profileexport pools pollms pointer perserver paused pageerrors outputs openssestream
onspawned offered occupied ntags noteactivity noexist nfc newpage modelsnode modelref
modelnotfound minlength metricswatch metering metaof metakind lstatdir loudly logmaxagems
locate loaddelayms llamaserver llamamoduledir llamacompletion livenessround lifecycle lacks kvs
keyobject judged journalfd isprocessalive intel inputtokens inode injectopenaienv img
idlemetrics huge hubstatus hubrepo hour homebrew hfhome healthy healthtimeoutms healthround
healthintervalms healthcounters hangs handles handler gpulayers globs freemem four forget
forced flutter flex firstchunkat filters fetchgatewaykey families extensionuri expectmissing
engineserver engineargs en downloadstate disposition differs deleting decodetokens declined
decideaftercrash dashboardhtml countparameters corrupted contentchunks colon codeserver co
closedearly chunkssent chatty chattoolcall chatparams cells cap candidates cachedjson byemail
bundles buffers brings blobsreal bloblocation bigint bf bearermatches authentication
auditeventtype auditevent atomicwrite announces announced age adoptedentry adopt addhook
activestreams above zodtype xx xml writers worth windowstart widget webkit watchedservers
watchcache wasmpath waiters vision violation viewport via very versions valueend validateinput
usertargets usagecursor urlsearchparams updateuser updatemetrics unrecognized unknownroute
unicode unexpected undelivered trendingscore transient tracker totalmem toolserver
toolresulttext tokenizepath tokenfile tinymodel textblock teamtree teamchatsource tasks
tampered talks symlinks survives stubborn strikes streamend straight stories stores stopservers
stopnode statusbar static startprofiles startmodel startjob startfront stable spawns
snippetneedskey slot sinkerror showserverlogs showing showerror shipped shebang setvisible
settarget setnodelay setattr sessionuser sessions serveron serverof serverdir servedname
serveargs searched searchcache scrollheight scores sans rounds rolling reveal retrydelay
restore restartpolicy requeststatus rendermarkdown removetree relayoptions registerpage
refusing refuse reffile reconnect recentcpumicros readtext readinesswait readggufsummary
ratelimit rank quote prototype promoteuser project profilespec profilerow principals
presencepenalty preselected preferredport prebuilt positivenumber pos pinnedtls picomatch
person pendingshow payloads patterns parsesse paneltitle palette pair padstart packagejson
overhead outsideintact outputtext outfile openaischemas openaierrortype onrow onlines older
offenders nul nousage nopermissions nonempty nextid nextfreeport newpassword newid newestknown
needed narrow multi mlxk metafiles memorywarning memoryestimate maxoutputtokens maxkeys
maxblockms marks markdownstring makelargecache magic looked loginbyaccount locatoroptions
livestream listings letter leads lastsafesplit lastprogress lastactivityat languages labelledby
keysbyhash keyrecord keyof jwtsecretfile isnan inherit inactive importresult importline
idletimeout iconpassed hubsearchresult huboffline hubendpoint hop hits highwatermark
healthchanged hasmore hashing generationresult gatewaykeystore fsyncdirectory frombearer
frequencypenalty freesocketttlms freebytes fp formatcount fn flushintervalms flushes five
fitting firsteventat fine findrepo filled filelogger ff fewer fetching fetcher fetchedbytes
feeds fc evil everyone estimatememory escaped errno ensuremanager endedat enableuser
embeddingcontext editprofile driver disableuser dirtykeys differ df detach destination
demoteuser deletebutton deletearmed definitions defaults def daves dashboardpanel cspviolations
createapiserver createandstart crashrestart counter corsorigins contrast contextsfile
contenttext contents conflicts compared comments commandrunner commandline collects coerce
cloud childpid checkonce checklast chattools chatcompletions central calloptions cachesize
cachedrevision branch bottom benchmark baseseq bartowski authenticate asyncgenerator askey apps
approveuser appendtext appear apierrorbody anyway alt allow align adoptedgone act accountpage
yields writtenrepo writesnapshot wrapper world workspacestate workbenchurl withhashslot week
wav warns walkthroughs walk waitforlog vmstatusedbytes visit verifypassword validateemail
uvicorn userlist usageonly urlencoded updateserver updates unreachableerror unquote unload
uncheckedbuf turned tunedsockets ttlms trusts truncatedurably trip treedataprovider transaction
trace touching toolcalldelta tolocalestring tokenhint together today tlscert tick
teamstopserver teamstartserver teamserveritem teammodelfrom tb targetabilities talk tables
systemhistory sweeper succeeds strip streamusage streamhash str stopof stopgracems stillwanted
startoptions startcodeserver ssedatareader sr sqljsstatic speech speculative specs speaking
spawnedentry spawnedat spark soon slots slidervalues slider sizeof sits silently signing
signedout showlog setstreaming setlimit sethftoken serverwindow serverstates serverrow
separateevents sentence sendbutton sendbody selfid selectchatmodels searches scenario scans
sawtoolcall saving samesite runsuite runningservers runningprofiles rule routemodel
rootsafetensors riglike revisionnotfound revealmodel retrytimer retryconnection restartlimits
requires requesttoken requestsbyuser requestresults requestrecord repoids replies
replacedbackup replaceall reopen releases rejectuser registerbyip refreshmodels redirects
reconnecting receivedrequest rebuilt readyms readygenerator readusage readpackagejson quotes
quickpickitem purgeable pruneoldlogs promptline promote profileref printingengine presence
preparedlaunch power portuser pointing pointeroid platformkey pins ping pill permission
pendingtls pendingat pems pe pathtofileurl passwordinput passwordchange parsing parseor
parseexposition parent panelstate owners overloaded outlives outlive outdir orphaned optionsarg
operation openreport openmodelonhub openlogforappend onsample onrecord oninvalidate nvocab ns
normalised normalise ndata nan much moveddamaged monospace moduledirproblem modelservice
modeljson modelinfo modelbytes mlxgw mlxextensionapi mkdtemp minus meterbest metacommit
metacachefile merged measures maxwaitms managerscript macosrunner lstatsync lowercased lower
loopbackurl longago logtaillines logprobs loglevel logit loginwithlimits loginpage loginbyip
llamaloglevel liveness listrepofolders listkeys listkey lint life leaving launches
launchchromium latems lastchunkat largestcopy kvbasis jsonbodybytes journals journalneedscut
journaled jose joinedargs joinedactual istty istextpart ipv ipblocked integerflag insufficient
installvsix installing inert importmetacache imageblock idparam icon hungupat hubtokenfile
huborigin hubhttperror however hostname hfheader hexaddr headerfootprint hastoken hashpassword
happens handed gu groupmembers grouped grid globaloptions gitblobsha ggufsplitgroup ggufbytes
gettreeitem getextension generationinput generable gatewaydeps gatewayapp fuzzroutes fuzzed
functionname fst frozenupto fromrow freshentrystate frees freename fragment fraction forgotten
forever foo followlog flash firstat findportholder finding filesystemerror fed fallback
fakerepo fakecontent failureof failmidway extraroutes ext exportfile expiries escapehtml
errorreporter errorpage erin environ enums enospcafter enginelist encodedparam durable
duplicates due drives downloadlist double displayname diskuse discarded disabledat
developmentpath detected descriptor demand defaultmoduledir deep decides debian datatext
datapart cutjournaltail currentid ctp crashat counttokens counting copymodelid conversationlist
controltokens continues contextsequence consume constant connects connectionstate configjson
configetag conditions completionevents compareviewstate comparetoggle commander combobox
coldupstream codes clip cleared claudeenv classes clash checktimeoutms checking checkcsrf
chatviewstate chattargets chatstreamchunk chathistory chars channels chain cdnhits cases carols
capabilities bymodel buffered budget brief brew brand bounds bos blockonreach bg benchmarks
becomes because became badrequesterror badjson autostart autocomplete authorized asuser
assertincache asking arrays architectures arch appendfilesync apidelayms apart anthropicrequest
anthropicid anthropicerror alttab allocunsafe allocator adoptionreport activation accelerator
writing writetext writeref writefiledurably writeclipboard writebiguint workspacefolders
withusage withresult withoutusage wildcard webviewpanel webviewoptions weakmap wants
waitforportfree waitforadopted vocabularywords viavmmap viarss viacli vertical variable
utilisation usualplaces using usersfrom userdatadir useinclaudecode usagequery usagecsv
uptimebase upstreamport upstreamidlems upstreamfields upper uploads updatebuttons unlinksync
unfinished unconfirmed uncheckedp uncheckede unalias twin tty truthy truncatesync trimend trees
traversal translation tq tpsminute tpslast toolschema toolfunctions toolcalling tokenmeter
tokenizerequest tokenclaims togatewayerror toapierror tlskey tlsfiles tinyggufoptions timestamp
timedout thinking things themselves themes textof textchunk testspath termination tensorspec
ten temporary teammodel tails sys switched suites styleuri styles streamerror storm
storiesmodel storeoptions storedspec stopshared stoppolling stopbutton steady startpollms
stamps splitat spin specof spawning sparklines snippetinput sneaky snapshotseq snapshotentry
slowfront sigstop signalled sigkills sides showtextdocument showtab sharedport shardbytes
shaped setconnected serving serverstopreason serif sequenced senderror selectfiles sections
scroller scripturi scale savestate savemetacache savefile runuitest rssafter routeurl rotating
rotatesecret rotates revisionok returned retrying retryafter retries resetpassword rescans
rescanned requestfields reponotfound repofoldername replays replacement rendermessages
removerecord remember relprefix relaybody regenerate regardless refuseddownload refsbycommit
refreshtokens referrer refbuffer receive realm readsse readlock readjournalfile readendpoint
readbiguint rawrevision ratelimited queries quantizations purpose protection promptfitter
promptfit profilewizard processreading processidentity pro pressed prefixitems precious
portholder poolagent please plainly plainclient pinnedinit phc persistent parsers parsejsonbody
parseint parsedline parsebest parseargs park pagecount ownerid outline opus opening
openconnections onstatus onslow onready oninit ondone ondelta onapplesilicon offending
notfounderror normalize nor nesting neither needmorebytes navigation natives na mustget moves
monotonicms modelsapi modelroutes modelresolution modellabel modelgroup modelentry mlxrepo
mistaken metal metacharacters metacache messagetext menus menu meanwhile maxattempts markup
mark managerport managerendpoint macho lowered losttimer lookup looking longest logargs
locatedengine loaddatabasefile llamatensors llamamodel llamacontext little listmodels listjson
listfiles listeninginodes linkedetag linkedblobs linkdir license legacy launchoptions
lastidtext lastheaders land killafter kib keyinfo keyanswer kernel keptbytes jsonbytes jinja
issymboliclink isdefault isdatapart ioaccelerator interpreter installedat inputvalidation
initsqljs initialization information infence increasing includeusage importprofiles importlabel
hubsearch hubetag hoverbackground hint heap healthverdict healthprobe healthpolicy healthlimits
healthchange headless headerdelayms hashqueue guard gpt ggufsummary ggufrefs getllama generous
generating gatewayroutes gatedrepo gate gap functioncalls functioncall fsyncsync fsync
fromoffset frank followserverlogs firsttokenms firsthealthms firsterror finiteornull finalshape
filesperrepo ffn fb faultbytes fastevents falls fakeserverspec fakellamaserver external
exportmetacache exitinfo exceptprofileid everacked ever estimated escapelabelvalue es
errormessage ephemeral eperm eos entryfor ensuredir enginetimings engineoptionname enginelog
enginelocator ending endfor encrypted elf elapsed either eio eighty dropnextblank driven
draftof doubles dot documented directive dies developer detectedms descriptions describemodel
den demote demo defaultthreads declare debounce datasets dataline dashboards dashboardopener
dang cutms ctrl crashy crashmessages countchattokens consecutive confirmation configref
compressed component compareview comm cmpl closedreason cleanly clean clampedfrom cjs chokidar
chattool chatsettings chatchoice chatanswer changing cdnurl caught category catalogue capped
cangenerate bytesdone buildtype bpe bold bodylimit blue belongs belong beginsweep based badbody
backslash backoffms attentionshape attempts attachment atomically asyncfunction assignment
assets assertonline arrivals argumentsdelta applysettings appends appendmarkdown apihubtoken
anyof answeredat alternatives allows algorithms aftercrash afterbytes adoptstreams
adoptedunhealthy adminuserspage addtree adddir actoremail activationms acquirevscodeapi acquire
accountstore accountkey accesssync accel acc abilities zombie zlib zeros wrongtype
writessincecheck wrappername withtoken withlogtail winter winget windowshide well watchrepo
wasstarting warmupmarkdown warmup waitsforready waitquery waitloaded waitingpage waitingcount
vscodedir vmstat victims viashell viaclient utimessync util usersview userofclaims username
useragent usedoutputtokens usedinputtokens usageschema usagerows usagecarrier urlttlms urlof
urifor upstreamalias upgrade updateid updatecounts unwatcha unused untrusted unshift unsetenv
unquantized unknownfield unknownerror uncompressed ubuntu ttfts trigger tricky treeentry
transactions training traincontextsize tpsspark touched totalmemory tooluseblock toolsdir
toolresultblock tokensbefore tokenfor toinput tlsselfsigned tlsdir tinybefore timing thenable
textlink textinputborder textfield texteditor textcompletion textcodeblock tensorcount
teamtreeprovider teambaseurl targetplatform takemeter takebackappend systemstrip synchronous
survivors summer suffix sudo streamoptions streameduse storewithhistory storeerrorcode
storebytes stopreasonof stoppedorphans stopevents stillstarting sticktobottom stayed statstext
statelabel startdownload standing stamped stalebody sseresult spring spoil splits special
spawnedserver spawnedagain snippetlabel snapshotquietly snapshotof snapshotall slowstart slash
skipvalue skippart sizetext site shuttingdown showslidervalues showprompt shownfile showmessage
showlogs shots shim shellpath shellargs sharing sharedlimits sharedchanged sharded settles
setprofile setpassword setimmediate setheader seterrorhandler setcontext setcompare servertile
serverargs servefile sentencepiece senddraft semaphore selectedindex segoe segment seeninflight
seeded secretfile secondbucket scroll schedulesnapshot scanfolder sandbox samplingfields
sampleonce samplemetrics samplelistener safetensorsfile safetensorsdtype runtime rssmib
rssbytes rsa routeoptions rotatelabel rotatejwtsecret room rolls rolled roles rolechunk revs
revokekey reverse reuse resuming restlimit restartat resolveurl resolverevision
resolvedrevision resize resend reproduces reproduce repotype repository replacewith repetition
repeats repeated repair renameerror removeserver remembers releaselock relaying regular refsto
refetch recursively recordsurvey reconnects reconcileroot receives realpathsync really readzip
readtable readsecret readrepo readrefs readonlyset readlink readjson readchunks rd rawpagesize
ratedecision ra quoting quot quickpick quickinputbutton quic queryselectorall queryid quarter
publishchanged publicserverlist publicserver psjson pruning pruneold proxy proves pronly
promptcount progressline progressed profilelist profilekey product processstarted processid
problems printf primitive predicate preamble prcommit pragma portof polyline pollution polled
polite poison plural plays plausible platforms pipeline pinnedstream pinnedresponse
pinnedrequest phoenix pgrp persists persistorwarn pem patched passwordreset parsesetting
parserepospec parsemodel parentreal paramschunk paging padto packagefile owns outputtokens
origins optionproblem openwatcher opentextdocument openstream openblock openaiprotocol opaque
onunexpectedexit onspawnfailed onsnapshot onsigint onpath onmouseover onlog onload onend
ondidhide ondidaccept ondata onconnection onconnected oncompleted onclosing onclick omitted
offlineerror oaistream oailog oaichunks nyou numeric nullusage nowsec nowms notify notfound
noroute normalizeetag normalisedemail nomodel noise nmlx nlc nid nextlaunchid newconversation
newcontext newchat networking near namespace namelength mxfp mx moveaside monitor moduleproblem
modulebitsvalue modelvalue modelproblem modelconfiginfo modelchoice modelcardinfo
mlxrepooptions mkdir mirror mime middle mibperminute meteratstart metadatavalue merges
memtotalbytes memoryspark members measure mean mayretry maybe maxagems matrix markexited
marginfor managerurl management maincommit madedirs lwouis lt loud longstream logits logins
lockdir localhost loadsqljs llamatokenizer llamaforcausallm lived listsnapshot linuxstat
linksnapshot linkedsize lima levels led lazily launchcontext lastsent lastreport lastprinted
lastline lastinfo lastcontent largecache laptop lacking lack kvheads know killscheduled
killrepeatedly keyid jsonroute jsondeltas jointext jit iterable isvisible isusagechunk isup
istoolresultpart istoolcallpart issued isserving issafeinteger isprimitive ispage isgguf
isexecutablefile iserror isabsolute invalidates internet integrityerror integrated
installedfrom insertprofile inputbox inprogress initmessage initialized initial infos inf
indexref idsb idsa idlems hubtokenbody hubmodel hubheaders hubconfig hover hosted honours
hijack headerend headdim he hasweights hasrefs hasparams hasimage hashfor hashed hashcontent
hasblobs happened handlers handlehub grew greeting grant ggufspec ggufs ggufblob gettime
getreader getdiagnostics getbytext generic generationevent gatewaymodellist gatewaykeys future
fullid ftype fsyncdirsync fstatsync frozenat fromfile fromenv frombackupagain fromaux frequency
freezes freespace formula forms formatting formatparameters foreignrequests forbid
footprintbytes followmetrics foldersunder focusborder flushms flushkeyuse floods flashtimer
flagwins flagkind firstcontent fires fireall finishfirst finishes finishblocker finduser
finalmessage filestamp fff fetc fence fds fdatasync fatal faster fallbacktype fakemlxrepofiles
fakemetrics fakehubswitches fakehubrequest failuretext failurelog failingio failbeforeanswer
extrafiles exposefunction expose exportmd exportjson expire exitms executablepath exclusive eve
eval etimedout escapeattr errorforeground errnocode eol entrypoints entrynotfound enotdir
enginestate enginesources encoderecord emptybucket embd elementtype elementsize eexist edquot
editorwidget econnreset early dupname dummyhash dst dry droppedran dropdownborder drains
downloadrow downloader doubling donefile doctype disposables diskfullflag disconnects disabling
directly describestarted desc der deprecate demoting demoted deleteuser deletemodelquery
defaultseed decodems decodedrecord declaredlength debounced deadport dataof datalike
dashboarddeps dashboardbrowser currentschema ctime crt creating createuser createterminal
createreadstream createkey createinterface cpumicros copyfilesync copyaside copilot cookiebase
conversions contextof contextname contain configured computed completes compiles comparefield
compact colspan closejournal closeblock clockoffsetms clientleft clientgone clicked clears
classify choiceschema childlogger chatwith chatview chatsource chatmodelhost chatconversion
chatcompletion chatchunkshape chatbody charts changepassword cell cecece cdnhit cc cards
capacity canpickmany cancelling canaries callindex callids callers bytewriter bytewise
byteoffset byserver byname bylikes byetag byalias bodyresult blobsprefix blobnames blobbytes
better been bb bash baselinems badrev badjsonerror aux authenticated auditquery auditevents
attemptstate atimems asynciterable assertwritable assertreadonly arms apt applesilicon
apikeylist apikeycreate apibase answerkey amp alwaysshow altnames algorithm ahead agents
afterdelimiter afresh afirstevent adminusagepage adminauditpage adminactor addsharecommands
addhubcommands adddefs activitybar ack accountroutes accesstoken abuse absworkingdir abs
abilitiesof aaaa aa zz zombies zoderror yieldtoeventloop year xxs xff wtfssd wrongsecret
wrongmodel wrongkey writevalue writeuint writerrun writefloatle writefast workspaceprofile
workspacekey wizardresult withtools withresponse withcall wire widths whom whoever
whileonewatches weightsetag webroutesdeps webassembly weakset ways wasrunning warningborder
warmupfraction warmer wantsusage wallms vmrss visibleservers virtual violations viewswelcome
viewids viajwt verifies verbs venvs vary vars variants validationerror validatealiases
userofkey usagestore usageshape usagebyuser uris urifornew upstreampath upsert updatelock
unwatchb unsecuredjwt unpacks unnecessary unlinks uniquename unions uninitialized unhandled
undone undo undici understood understands unauthenticated unasked unacknowledged ufeff ud tya
tuple tsconfig truncation truncatederror trouble trimstart trimmed tries transpilemodule
transparent trailing touches totalsteps totals toolresultlike toolmodel toolkit toolcalllike
tokenmeterstate tokenestimate tojson tohost tofile tobytes tobuffer toapi tlssocket titles
timingsafeequal timestamps timeoutifidle thrown throughput throttled throttle themself thapa
textlike textblockquote telemetry teamstatus talking takesnone tabgroups systems syscall swap
sushil survive supported sums summed suits suggestion successor succeed subset subjectaltname
strictest streamevents streambuffer stray storederror stopsince stoppedtiny stoponquit
stopinprogress std statistics statfs statekind startwait startupnotices startup starttimedout
startsnewchunk startsharedargs startparts startgroup starter stands stampintext ssw spent
specificity spawnrequest spawnandwait sparklinepoints sonar sometimes snow smaller slowing
skipping skipdownload sized signout signin signalcode siblings showsavedialog showerrormessage
shorter shorten ships shiftkey she shareoptions setservers sethubtoken setcookie sessionstorage
servertable serverroutesdeps serverlabels servedafter serializer seqs separators separated
sendtoken sendcompare selectprofile selecteditems searchttlms searching searchable
scrollbarslider scripttarget scriptedargs screen scrape schedules scancachedir sanitized
sampleseconds samplerstats safetensorsmeta safereaddir runtests runinterminal rssmb routematch
routed rms riff rf reyn rewritten revokeapikey revocation reveals reusedsocket returning
retryat resumedownload resultitem restricted responsepart resolvetreeitem resolvelocalpath
resigned resident resetjournal rescanreposync rescanmodels requeststats requested
requestcontext requestbody reporting repoparam repoandrev replayjournal replacing repeatpenalty
repaired removepartials removeleftovers removeattribute reminder rememberedanswer relayupload
relaystream relayplain relaymessages relayjson relayerror rejection region regenerates reg
reftarget refreshes refetches redacted red recording recordedevents recomputed recognises reap
realpath readsystem readrange readprocesses readmemeta readjsonbody readjournalseq
readfootprints readers readdir rc rb rawurl rangeoffield qwertyuiop qwerty quotearg quits
quietlogger queuedelta queuedat queueaggregate queryselector pypi pw pushhftoken
`
  .trim()
  .split(/\s+/);

/** Runs of punctuation that JSON and Markdown repeat ("▁" is a space), as single pieces. */
export const TINY_VOCABULARY_PUNCTUATION: readonly string[] = [
  '":▁"', '",▁"', '":▁{"', '":▁["', '"},▁"', '"],▁"', '":▁[', '":▁{', '"}', '"]', '["', '{"', '"},', '"],',
  '":"', '","', '":{"', '":["', '"},"', '"],"', "},▁{", "▁{", "▁}", "▁[", "▁]", "▁(", "▁)", "()", "();", ").", "),",
  "\n\n", "\n-▁", "\n\n-▁", "▁▁", "▁▁▁▁", "▁▁▁▁▁▁▁▁", "//", "**", "```", "---", ".▁", ",▁", ":▁", ";▁", "=>", "===", "!==", "->", "::",
];
