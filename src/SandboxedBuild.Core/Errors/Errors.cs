namespace SandboxedBuild.Errors;

/// <summary>
/// The catalog of every message the tool shows a user, in one place.
/// </summary>
/// <remarks>
/// Codes are grouped by area and never reused, even when an entry is retired:
/// 1xxx command line, 2xxx MSBuild tasks, 3xxx policy, 4xxx Linux backend, 5xxx macOS backend,
/// 6xxx egress proxy. Each code has a page under <c>docs/errors/</c>; a unit test fails when a code is
/// malformed, duplicated, out of its area, or missing its page.
/// </remarks>
public static partial class Errors
{
    // 1xxx — command line

    /// <summary>The command line could not be parsed.</summary>
    public static readonly ErrorCode InvalidUsage = new(
        "SBX1001", Severity.Error,
        "{0}",
        "run 'dotnet sandbox {1} --help' for the options and examples.");

    /// <summary><c>exec</c> without a command.</summary>
    public static readonly ErrorCode NoCommand = new(
        "SBX1002", Severity.Error,
        "no command to run.",
        "put the command after '--', for example: dotnet sandbox exec -- dotnet build");

    /// <summary>The command does not exist inside the sandbox.</summary>
    public static readonly ErrorCode CommandNotFound = new(
        "SBX1003", Severity.Error,
        "command not found: '{0}' ({1}).",
        "use the command's full path, or make its directory visible with {setting:allow-read} DIR.",
        ExitCodes.CommandNotFound);

    /// <summary>The command exists but cannot be executed.</summary>
    public static readonly ErrorCode CommandNotExecutable = new(
        "SBX1004", Severity.Error,
        "'{0}' exists but is not an executable file.",
        "check the file's permissions (chmod +x) or run it through its interpreter, for example: sh {0}",
        ExitCodes.CommandNotExecutable);

    /// <summary>The working directory would make too much writable.</summary>
    public static readonly ErrorCode WorkingDirectoryTooBroad = new(
        "SBX1005", Severity.Error,
        "refusing to make '{0}' writable: it is {1}, and everything below it would be exposed to the sandboxed command.",
        "cd into the project's own directory first, or name it with {setting:workdir} PATH.");

    /// <summary>The command resolves to a path the sandbox hides.</summary>
    public static readonly ErrorCode CommandHidden = new(
        "SBX1006", Severity.Error,
        "'{0}' resolves to '{1}', which the sandbox does not make visible.",
        "make its directory visible with {setting:allow-read} {2}",
        ExitCodes.CommandNotFound);

    /// <summary>A value given to an option is malformed.</summary>
    public static readonly ErrorCode InvalidOptionValue = new(
        "SBX1007", Severity.Error,
        "invalid value '{1}' for {0}: {2}",
        "the same command with --help describes {0} and its values.");



    /// <summary>The working directory does not exist.</summary>
    public static readonly ErrorCode WorkingDirectoryMissing = new(
        "SBX1008", Severity.Error,
        "the working directory '{0}' does not exist.",
        "create it first, or pass an existing directory to {setting:workdir}.");

    /// <summary>Windows has no backend.</summary>
    public static readonly ErrorCode PlatformNotSupported = new(
        "SBX1009", Severity.Error,
        "sandboxing is not supported on {0}.",
        "run it under Linux with bubblewrap installed, for example in WSL 2.");

    /// <summary>No project or solution where the step was asked for.</summary>
    public static readonly ErrorCode NoProjectFound = new(
        "SBX1010", Severity.Error,
        "no project or solution file in '{0}'.",
        "cd into the project's directory, or name the file: dotnet sandbox {1} path/to/App.csproj");

    /// <summary>More than one candidate and none named.</summary>
    public static readonly ErrorCode ManyProjectsFound = new(
        "SBX1011", Severity.Error,
        "'{0}' holds more than one project or solution file ({1}).",
        "name the one to use: dotnet sandbox {2} {3}");

    /// <summary>The named project or solution is missing or of an unknown kind.</summary>
    public static readonly ErrorCode ProjectFileInvalid = new(
        "SBX1012", Severity.Error,
        "'{0}' is not a project or solution file ({1}).",
        "name a .csproj, .fsproj, .vbproj, .sln or .slnx file, or a directory that holds exactly one.");

    /// <summary>A resource bound (the settings tmpfs-size, max-processes) is malformed or out of range.</summary>
    public static readonly ErrorCode InvalidBound = new(
        "SBX1013", Severity.Error,
        "invalid value '{1}' for {0}.",
        "give {2}.");

    /// <summary>An option or argument was given an empty or all-white-space value.</summary>
    public static readonly ErrorCode EmptyOptionValue = new(
        "SBX1014", Severity.Error,
        "{0} was given an empty value ('{1}'); it takes {2}.",
        "an empty word usually comes from a shell variable that is unset or empty ({setting:allow-read} \"$DIR\" with no DIR); give the value, or leave the option out.");

    /// <summary>A path on the command line (or the working directory) holds a control character.</summary>
    public static readonly ErrorCode PathHasControlCharacter = new(
        "SBX1015", Severity.Error,
        "{0} '{1}' contains a control character ({2}); the tool refuses such a path.",
        "a newline, tab or other control byte in a path would make the policy listing, the bubblewrap command line and the mount table say something other than what is bound; rename the file or directory, or name another one.");

    /// <summary>A path on the command line starts with a literal '~' that no shell expanded.</summary>
    public static readonly ErrorCode TildeNotExpanded = new(
        "SBX1016", Severity.Error,
        "{0} '{1}' starts with a literal '~': no shell expanded it (it was quoted, or came from a variable), and the tool does not guess whose home it means.",
        "write the path so the shell expands it (~/dir without quotes, or \"$HOME/dir\"), or name a file or directory really called '~' as ./{1}");

    /// <summary>A path on the command line is not valid UTF-8, so the tool cannot name the file exactly.</summary>
    public static readonly ErrorCode PathNotUtf8 = new(
        "SBX1017", Severity.Error,
        "{0} '{1}' is not valid UTF-8 (each U+FFFD stands for bytes that could not be decoded), so it cannot name a file exactly.",
        "rename the file or directory to a UTF-8 name (convmv or mv), or name a directory above it that has one.");

    /// <summary>An argument for the command is not valid UTF-8, so it cannot be passed on as given.</summary>
    public static readonly ErrorCode ArgumentNotUtf8 = new(
        "SBX1019", Severity.Error,
        "argument {0} for {1}, '{2}', is not valid UTF-8 (each U+FFFD stands for bytes that could not be decoded): the command would receive U+FFFD in their place, not the bytes you gave.",
        "give the value in UTF-8; if the command needs those bytes, make them inside the sandbox: dotnet sandbox exec -- sh -c 'exec CMD \"$(printf \"\\351\")\"'.");

    /// <summary><c>run</c> on a solution: dotnet runs one project.</summary>
    public static readonly ErrorCode RunNeedsProject = new(
        "SBX1020", Severity.Error,
        "'{0}' is a solution, and run starts one project; the solution holds {1}.",
        "name the project to run: dotnet sandbox run {2}");

    /// <summary>The project or solution named on the command line goes through a symbolic link a sandbox could have planted.</summary>
    public static readonly ErrorCode ProjectPathThroughLink = new(
        "SBX1018", Severity.Error,
        "the project '{0}' goes through the symbolic link '{1}' -> '{2}'; its real location is '{3}'.",
        "a link in a directory a sandboxed run could write may have been planted to point elsewhere. If '{3}' is the project you mean, name it: dotnet sandbox {4} '{3}' (or cd into it first); otherwise remove the link.");

    // 3xxx — policy

    /// <summary>A path named by --allow-read or --allow-write does not exist.</summary>
    public static readonly ErrorCode AllowedPathMissing = new(
        "SBX3001", Severity.Error,
        "{0} names '{1}', which does not exist.",
        "create it first or correct the path; the sandbox cannot bind a path that is not there (a missing directory below the working directory is the one exception: {setting:allow-write} creates it).");

    /// <summary>An --allow-write would expose a whole home, system directory or root.</summary>
    public static readonly ErrorCode AllowedPathTooBroad = new(
        "SBX3002", Severity.Error,
        "refusing {0} '{1}': it is {2}.",
        "name the narrowest directory the command needs to write.");

    /// <summary>An environment variable name is malformed.</summary>
    public static readonly ErrorCode InvalidVariableName = new(
        "SBX3003", Severity.Error,
        "'{0}' is not a valid environment variable name.",
        "use letters, digits and '_', not starting with a digit; {setting:setenv} takes NAME=VALUE.");

    /// <summary>A variable that looks like a secret is passed in because the user named it.</summary>
    public static readonly ErrorCode SecretPassedExplicitly = new(
        "SBX3004", Severity.Warning,
        "passing '{0}' into the sandbox because {1} named it; its name looks like a secret.",
        "pass secrets only to commands you trust; the sandbox cannot keep a command from sending what it can read.");

    /// <summary>--env names a variable that is not set.</summary>
    public static readonly ErrorCode PassedVariableUnset = new(
        "SBX3005", Severity.Warning,
        "{setting:env} {0}: the variable is not set in this environment; nothing is passed.",
        "set it before running, or use {setting:setenv} {0}=VALUE.");

    /// <summary>Variables of the caller's that the allow-list keeps out, named (never their values) so that a test reading one is not a mystery.</summary>
    public static readonly ErrorCode VariablesNotPassed = new(
        "SBX3029", Severity.Warning,
        "{0} of your environment variables {1} not passed into the sandbox: {2}.",
        "only an allow-list passes (PATH, LANG, TERM, CI markers, DOTNET_*, NUGET_*, MSBUILD*…); pass one with {setting:env} NAME or set it with {setting:setenv} NAME=VALUE. Names that look like secrets are never passed unless named, and are not listed here.");

    /// <summary>A project's lock file cannot be made writable for its restore: a bind cannot hold what is beside it.</summary>
    public static readonly ErrorCode LockFileNotWritable = new(
        "SBX3030", Severity.Warning,
        "the restore of {0} cannot write its lock file '{1}': NuGet replaces it through a temporary file beside it, and the directory cannot be made writable with everything else in it held read-only: {2}.",
        "a restore that must change the lock file then fails with 'Read-only file system'. Replace the link by what it points to (or move the special file away), or restore outside the sandbox (dotnet restore) and run the other steps with --no-restore.");

    /// <summary>The restore of a project with a lock file added something beside it.</summary>
    public static readonly ErrorCode LockFileDirectoryChanged = new(
        "SBX3031", Severity.Warning,
        "the restore added {0} to '{1}', where only the lock file '{2}' was to change.",
        "a restore runs the MSBuild code of the project and of its packages: look at what it added, and remove what you do not expect, before a build outside the sandbox reads it.");

    /// <summary>--allow-read exposes something sensitive; allowed because the user asked, said loudly.</summary>
    public static readonly ErrorCode SensitiveReadAllowed = new(
        "SBX3006", Severity.Warning,
        "{setting:allow-read} {0} exposes {1}.",
        "name the narrowest directory the command needs to read.");

    /// <summary>A NuGet V3 service index could not be read, so the hosts behind it are unknown.</summary>
    public static readonly ErrorCode ServiceIndexUnreadable = new(
        "SBX3007", Severity.Warning,
        "could not list the hosts behind the NuGet service index {0}: {1}",
        "only the feed's own host is known; if the restore then needs another host, allow it with {setting:allow-host}, or check the feed's URL and that it answers without credentials.");

    /// <summary>A NuGet config file is unreadable or invalid.</summary>
    public static readonly ErrorCode NuGetConfigUnreadable = new(
        "SBX3008", Severity.Error,
        "the NuGet configuration could not be read: {0}",
        "fix or remove the file named above; 'dotnet restore' fails on it too.");

    /// <summary>A NuGet environment variable holds a relative path, or there is no home directory.</summary>
    public static readonly ErrorCode NuGetVariableInvalid = new(
        "SBX3009", Severity.Error,
        "{0} is '{1}', which is not an absolute path.",
        "set {0} to an absolute path, or unset it; 'dotnet restore' refuses it too.");

    /// <summary>An output directory the step must write could not be created before the run.</summary>
    public static readonly ErrorCode OutputDirectoryCreateFailed = new(
        "SBX3010", Severity.Error,
        "could not create the output directory '{0}': {1}",
        "check that you may write its parent directory; the sandbox binds it writable only if it exists.");

    /// <summary>MSBuild could not evaluate a project (inside the sandbox) to infer the policy.</summary>
    public static readonly ErrorCode ProjectEvaluationFailed = new(
        "SBX3011", Severity.Error,
        "MSBuild could not evaluate '{0}' to infer the policy (exit status {1}): {2}",
        "run 'dotnet msbuild {0} -getProperty:OutputPath' to see the full error, and fix the project first.");

    /// <summary>Project files ask for more than the default policy; not applied until the user approves.</summary>
    public static readonly ErrorCode PendingWidening = new(
        "SBX3012", Severity.Warning,
        "the project files ask for {0} widening(s) that are not applied until you approve them outside the sandbox:{1}",
        "review and approve with 'dotnet sandbox trust {2}'; until then the steps run without them.");

    /// <summary>A path inferred from the project is refused outright.</summary>
    public static readonly ErrorCode InferredPathRefused = new(
        "SBX3013", Severity.Warning,
        "ignoring {0} '{1}' of {2}: it is {3}.",
        "a project file cannot widen the sandbox this way: fix the property or item (a folder inside the repository, a valid host pattern), or allow what you need yourself ({setting:allow-read}, {setting:allow-write}, {setting:allow-host}).");

    /// <summary>Feed credentials are kept out of the sandbox.</summary>
    public static readonly ErrorCode CredentialsNotPassed = new(
        "SBX3014", Severity.Warning,
        "package source '{0}' has credentials in {1}; they are not passed into the sandbox, so a restore from it fails inside if the feed needs them.",
        "restore outside the sandbox (dotnet restore), then run the other steps sandboxed: dotnet sandbox test --no-restore");

    /// <summary>A path the user named goes through a symbolic link that a sandbox could have planted.</summary>
    public static readonly ErrorCode PathThroughLink = new(
        "SBX3015", Severity.Error,
        "{0} '{1}' goes through the symbolic link '{2}' -> '{3}'; its real location is '{4}'.",
        "a link in a directory you can write may have been planted by an earlier sandboxed run to point elsewhere. If '{4}' is what you mean, name it: {0} '{4}'; otherwise remove the link.");

    /// <summary>A path a project file or configuration names goes through a symbolic link that a sandbox could have planted.</summary>
    public static readonly ErrorCode InferredPathThroughLink = new(
        "SBX3016", Severity.Warning,
        "ignoring {0} '{1}' of {2}: it goes through the symbolic link '{3}' -> '{4}', so it would lead to '{5}'.",
        "a link in the repository or in another directory a sandbox can write may have been planted to point outside; replace the link by a real directory, or name the real location '{5}' (outside the repository it then waits for 'dotnet sandbox trust').");

    /// <summary>A protected name (.git/hooks, .envrc, .vscode…) is a symbolic link, which cannot be held in place.</summary>
    public static readonly ErrorCode ProtectedPathIsLink = new(
        "SBX3017", Severity.Error,
        "'{0}' is a symbolic link to '{1}' ({2}); the sandbox keeps that name read-only, and a link cannot be held in place without showing what it points to.",
        "remove the link or replace it by the real file or directory, then run again. A link with such a name, committed to a repository or left by an earlier run, could expose or plant files outside the sandbox.");

    /// <summary>A file the tool reads from a place a sandbox can write is not a regular file of a sane size.</summary>
    public static readonly ErrorCode UnsafeFileRefused = new(
        "SBX3018", Severity.Error,
        "refusing to read '{0}': it is {1}; a file a sandboxed run could have written is read only when it is a regular file within the size limit.",
        "an earlier sandboxed run (a build, a restore, a project's evaluation) may have planted it to make this tool read, print or hang on something else. Look at it (ls -l '{0}'), remove it or replace it by the real file, and run again.");

    /// <summary>An XML file the tool parses itself (a .slnx solution) is malformed or uses a DTD.</summary>
    public static readonly ErrorCode XmlFileInvalid = new(
        "SBX3019", Severity.Error,
        "'{0}' is not valid XML at line {1}, position {2}: {3}",
        "fix the file; the tool reads it without DTDs, entities or external references, so it must be plain XML (as 'dotnet' writes it).");

    /// <summary>A package source of the user's NuGet.Config is left out of the sanitized copy the sandbox sees.</summary>
    public static readonly ErrorCode SanitizedSourceLeftOut = new(
        "SBX3020", Severity.Warning,
        "package source '{0}' is left out of the NuGet.Config the sandbox sees: {1}.",
        "a secret in a feed URL would reach every sandboxed restore; put the key in <packageSourceCredentials> or a credential provider instead, and restore from that feed outside the sandbox (dotnet restore), then run the other steps sandboxed with --no-restore.");

    /// <summary>The user's NuGet.Config cannot be parsed, so no sanitized copy can be made.</summary>
    public static readonly ErrorCode UserNuGetConfigInvalid = new(
        "SBX3021", Severity.Error,
        "your NuGet configuration '{0}' is not a valid NuGet.Config, so no credential-free copy can be made for the sandbox: {1}",
        "fix the file ('dotnet restore' fails on it too); a document type declaration (<!DOCTYPE>) is refused.");

    /// <summary>A NuGet.config above the repository is treated as the project's, not the user's.</summary>
    public static readonly ErrorCode NuGetConfigAboveRepository = new(
        "SBX3022", Severity.Warning,
        "'{0}' is a NuGet.config above the repository '{1}', not your own NuGet configuration; the packages folder, fallback folders and sources it sets wait for approval like the repository's own.",
        "a sandboxed command may have written it. If the settings are yours, move them to ~/.nuget/NuGet/NuGet.Config (or ~/.nuget/NuGet/config/NAME.config); otherwise remove the file.");

    /// <summary>An entry of the packages folder is not a real package directory, so it is not bound.</summary>
    public static readonly ErrorCode PackageEntryRefused = new(
        "SBX3023", Severity.Warning,
        "'{0}' in the packages folder is {1}; it is not shown to the sandbox as a package.",
        "a restore only ever creates real directories there; remove the entry (rm '{0}') and restore again.");

    /// <summary>The restore step left a link in the packages folder; it was removed.</summary>
    public static readonly ErrorCode PackageLinkRemoved = new(
        "SBX3024", Severity.Warning,
        "the restore left the symbolic link '{0}' in the packages folder; it was removed, since a build outside the sandbox would take it for a package.",
        "a restore never creates links there: something that ran during the restore (a package's or the project's restore-time target) made it. Check what the project and its packages run.");

    /// <summary>A solution file the .NET SDK's own parser refuses.</summary>
    public static readonly ErrorCode SolutionInvalid = new(
        "SBX3028", Severity.Error,
        "'{0}' is not a solution the .NET SDK can read (line {1}): {2}",
        "fix the file at that line ('dotnet sln list' reads it with the same parser and says what is wrong), or name one project instead of the solution.");

    /// <summary>A NuGet configuration file exists but the caller may not read it.</summary>
    public static readonly ErrorCode NuGetConfigNotReadable = new(
        "SBX3027", Severity.Error,
        "the NuGet configuration '{0}' exists but you may not read it ({1}); the packages folder, sources and credentials it sets are unknown, so no policy can be inferred.",
        "make it readable (chmod u+r '{0}', or fix its owner), or remove it; 'dotnet restore' fails on it too.");

    /// <summary>Another run kept the trust store or the saved-hosts file locked for too long.</summary>
    public static readonly ErrorCode UserFileLocked = new(
        "SBX3025", Severity.Error,
        "cannot update '{0}': another dotnet sandbox has kept it locked for 30 s ({1}).",
        "nothing was saved. Approvals and saved hosts are read, merged and written under a lock so that concurrent runs keep each other's; end the run that holds it (or one that hangs at a prompt) and try again.");

    // 4xxx — Linux backend (bubblewrap)

    /// <summary>bwrap is not installed.</summary>
    public static readonly ErrorCode BubblewrapMissing = new(
        "SBX4001", Severity.Error,
        "bubblewrap (bwrap) was not found on PATH.",
        "install it: 'sudo apt-get install bubblewrap' (Debian/Ubuntu), 'sudo dnf install bubblewrap' (Fedora), or run ./eng/install.sh from the SandboxedBuild checkout.");

    /// <summary>bwrap is too old for the options the sandbox relies on.</summary>
    public static readonly ErrorCode BubblewrapTooOld = new(
        "SBX4002", Severity.Error,
        "bubblewrap {0} is too old: {1} or later is needed (for --disable-userns, which stops nested user namespaces).",
        "upgrade bubblewrap from your distribution's packages.");

    /// <summary>Unprivileged user namespaces are turned off.</summary>
    public static readonly ErrorCode UserNamespacesUnavailable = new(
        "SBX4003", Severity.Error,
        "the kernel refused to create a user namespace: {0}",
        "enable unprivileged user namespaces: 'sudo sysctl kernel.unprivileged_userns_clone=1' where bubblewrap says 'No permissions to create a new namespace' (Debian's switch), 'sudo sysctl user.max_user_namespaces=15000' where it says max_*_namespaces exceeded (the limit is 0), a kernel built with CONFIG_USER_NS where it says the kernel does not support them; or ask your administrator. Run 'dotnet sandbox doctor' to check.");

    /// <summary>bwrap started but could not set the sandbox up.</summary>
    public static readonly ErrorCode SandboxSetupFailed = new(
        "SBX4004", Severity.Error,
        "bubblewrap could not set up the sandbox (exit status {0}); its own message is above.",
        "run 'dotnet sandbox doctor' to check this machine, and 'dotnet sandbox exec --print-policy --format bwrap -- CMD' to see the exact arguments.");

    /// <summary>bwrap itself could not be started.</summary>
    public static readonly ErrorCode SpawnFailed = new(
        "SBX4005", Severity.Error,
        "could not start '{0}': {1}",
        "check that the file is executable; run 'dotnet sandbox doctor'.");

    /// <summary>The command created a protected path that could not be held by a placeholder; it was removed.</summary>
    public static readonly ErrorCode ProtectedPathCreated = new(
        "SBX4006", Severity.Warning,
        "the command created '{0}' ({1}); it was removed after the run.",
        "nothing to do if you did not expect it; a build has no reason to write there, so look at what the command ran.");

    /// <summary>The process bound could not be set on the sandbox before the command started.</summary>
    public static readonly ErrorCode ProcessBoundFailed = new(
        "SBX4007", Severity.Error,
        "could not bound the sandbox to {0} processes: {1}; nothing ran.",
        "run 'dotnet sandbox doctor' and report its output; the bound is set with prlimit(2) on the sandbox's first process before the command starts.");

    /// <summary>A resource bound the user asked for does not hold on this machine or for this caller.</summary>
    public static readonly ErrorCode BoundNotApplied = new(
        "SBX4008", Severity.Warning,
        "{0} cannot be applied: {1}.",
        "{2}");

    /// <summary>A bind does not show what was checked on the host, or the sandbox's mounts could not be checked.</summary>
    public static readonly ErrorCode MountCheckFailed = new(
        "SBX4009", Severity.Error,
        "the sandbox was stopped before the command ran: '{0}': {1}.",
        "a sandbox running at the same time in the same tree may have swapped a directory for a link; run again, and look for links you did not make (find . -type l). If it persists, report it with the output of 'dotnet sandbox doctor'.");

    /// <summary>A protected name could not be held by a placeholder for the run.</summary>
    public static readonly ErrorCode PlaceholderFailed = new(
        "SBX4010", Severity.Error,
        "cannot hold '{0}' read-only for the run: {1}.",
        "nothing ran. A directory on the way was replaced by a link, the placeholder could not be created, or another user's sandbox holds the name (run again once it has ended; an empty entry of another user left there can be removed); look for links you did not make (find . -type l).");

    /// <summary>A signal came while the sandbox was being set up; the command never started.</summary>
    public static readonly ErrorCode InterruptedBeforeStart = new(
        "SBX4015", Severity.Warning,
        "{0} arrived before the command started: the sandbox was stopped and nothing ran (exit status {1}).",
        "nothing to undo; run the command again when you mean to. A signal that arrives once the command runs goes to its process group, as at a terminal.");

    /// <summary>The same signal came twice: the whole sandbox was killed.</summary>
    public static readonly ErrorCode SandboxKilledOnRepeat = new(
        "SBX4016", Severity.Warning,
        "the same signal came a second time: every process of the sandbox was killed at once (exit status {0}).",
        "the first SIGINT, SIGTERM, SIGHUP or SIGQUIT goes to the command's process group, as a terminal delivers it; sending the same one again ends the whole sandbox with SIGKILL, for a command that ignores or outlives the first. Files the command was writing may be incomplete.");

    /// <summary>Ubuntu's AppArmor restriction leaves bubblewrap's user namespace without capabilities.</summary>
    public static readonly ErrorCode AppArmorUserNamespaceRestricted = new(
        "SBX4017", Severity.Error,
        "bubblewrap could not set up its user namespace: {0}. This is what AppArmor's restriction of unprivileged user namespaces (Ubuntu 23.10 and later; kernel.apparmor_restrict_unprivileged_userns {1}) does to a bwrap that has no AppArmor profile allowing them.",
        "give bubblewrap a profile: write /etc/apparmor.d/bwrap with 'abi <abi/4.0>, include <tunables/global> profile bwrap {2} flags=(unconfined) {{ userns, }}' (the full text is in docs/errors/SBX4017.md), then run 'sudo apparmor_parser -r /etc/apparmor.d/bwrap'. Lifting the restriction for the whole machine ('sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0') also works, but for every program.");

    /// <summary>A directory the run could write was removed, moved or replaced while it ran.</summary>
    public static readonly ErrorCode WritableDirectoryRemoved = new(
        "SBX4018", Severity.Error,
        "'{0}' was removed or replaced while the command ran ({1}); nothing was cleaned up through that path, and the command's exit status ({2}) is not the run's.",
        "something outside the sandbox (or another sandbox that can write its parent directory) removed or moved it. Put the directory back, check what else runs in that tree, and run again; the sandbox wrote nothing anywhere else.");

    /// <summary>A sandbox a host started itself ended without its supervisor's report.</summary>
    public static readonly ErrorCode SupervisorSilent = new(
        "SBX4020", Severity.Error,
        "the process the host started for the sandbox ended (exit status {0}) without the supervisor's report of the command's end: {1}. Its status is not the command's.",
        "start exactly the Executable and Arguments that Prepare returned (dotnet-sandbox-bridge's supervisor), and call Complete only once that process has exited; a supervisor killed before the command ended also ends this way.");

    /// <summary>A private tmpfs of the sandbox filled up while the command ran.</summary>
    public static readonly ErrorCode PrivateTmpfsFull = new(
        "SBX4019", Severity.Warning,
        "the sandbox's private {0} filled up while the command ran (each private tmpfs holds {1}); writes there failed with 'No space left on device'.",
        "if the command failed for want of space, give it more with {setting:tmpfs-size} (a size such as 4G; it is held in memory), or have it write large files into the project directory, which is on disk.");

    /// <summary>The directory of lock files that keeps concurrent runs apart is not the caller's private one.</summary>
    public static readonly ErrorCode LockDirectoryUnsafe = new(
        "SBX4011", Severity.Error,
        "cannot use '{0}' for the locks that keep concurrent sandboxes apart: {1}.",
        "nothing ran. It must be a directory of yours, mode 0700, and the sandbox must not be able to write it. If another user made it, ask an administrator to remove it; do not make it, or anything in it, writable with {setting:allow-write}.");

    /// <summary>What a killed run left behind was removed.</summary>
    public static readonly ErrorCode LeftoverRemoved = new(
        "SBX4012", Severity.Warning,
        "removed {0} thing(s) left behind by earlier runs that were killed:{1}",
        "a run that is killed (SIGKILL) cannot clean up after itself; the next run removes what it left once no live run uses it.");

    /// <summary>Another run of the same step of the same project is under way; this one waits for it.</summary>
    public static readonly ErrorCode StepWaiting = new(
        "SBX4013", Severity.Warning,
        "waiting for another 'dotnet sandbox {0}' in '{1}' to finish.",
        "runs that write one repository's obj/ and bin/ (restore, build) take turns, so that neither reads what the other is half-way through writing.");

    // 5xxx — macOS backend (seatbelt)

    /// <summary>The seatbelt backend is not there yet.</summary>
    public static readonly ErrorCode SeatbeltNotImplemented = new(
        "SBX5001", Severity.Error,
        "the macOS (seatbelt) backend is not implemented yet; nothing was run.",
        "run it under Linux with bubblewrap for now; see Limitations in the README.");

    /// <summary>A path cannot be written into a seatbelt profile without changing its meaning.</summary>
    public static readonly ErrorCode PathNotRepresentableInProfile = new(
        "SBX5002", Severity.Error,
        "the path '{0}' cannot be written into a seatbelt profile: it contains {1}.",
        "rename it, or leave it out of the policy (it is named by the working directory, {setting:allow-read}, {setting:allow-write} or the home directory); the sandbox refuses such names rather than risk a profile that means something else.");

    // 6xxx — egress proxy

    /// <summary>A host pattern on the command line is malformed.</summary>
    public static readonly ErrorCode InvalidHostPattern = new(
        "SBX6001", Severity.Error,
        "{0} '{1}' is not a host pattern.",
        "use a host (api.nuget.org), a wildcard (*.blob.core.windows.net) or an address (10.0.0.5), optionally with :PORT.");

    /// <summary>An unknown preset.</summary>
    public static readonly ErrorCode UnknownPreset = new(
        "SBX6002", Severity.Error,
        "there is no network preset named '{0}'.",
        "choose from: {1}.");

    /// <summary>The egress proxy could not start.</summary>
    public static readonly ErrorCode ProxyStartFailed = new(
        "SBX6003", Severity.Error,
        "the egress proxy could not start: {0}",
        "check that {1} exists, is writable by you and has a short path (a unix socket's path holds at most 107 bytes), or point XDG_RUNTIME_DIR at a directory that does; turn the network off ({setting:no-network}) if the command needs none.");

    /// <summary>Audit mode lets everything through.</summary>
    public static readonly ErrorCode AuditMode = new(
        "SBX6004", Severity.Warning,
        "network audit mode: every host that is not denied is reachable, and each one is recorded.",
        "use it only to write an allowlist; the run ends with the {setting:allow-host} entries that would have made it pass.");

    /// <summary>A loopback allow entry names a port the bridge cannot listen on.</summary>
    public static readonly ErrorCode LoopbackPortNotForwarded = new(
        "SBX6005", Severity.Warning,
        "{0} is allowed, but port {1} cannot be forwarded into the sandbox: nothing inside may listen below 1024.",
        "serve it on a port from 1024 up on this machine, and allow that port instead.");

    /// <summary>The egress proxy refused a request head that its strict grammar does not describe.</summary>
    public static readonly ErrorCode ProxyRequestMalformed = new(
        "SBX6006", Severity.Warning,
        "the egress proxy refused a request: {0}; it was: {1}",
        "the proxy serves 'CONNECT host:port HTTP/1.1' and 'GET http://host[:port]/path HTTP/1.1' with one Host header naming the same host; a host is ASCII letters, digits, hyphens and dots (IDNA names as xn-- labels), a dotted-decimal IPv4 address or a bracketed IPv6 address. Anything else comes from a broken or hostile client and is never passed on.");

    /// <summary>The egress proxy refused connections because too many were open.</summary>
    public static readonly ErrorCode ProxyConnectionLimit = new(
        "SBX6007", Severity.Warning,
        "the egress proxy is refusing connections: {0} are open, the most it serves at once.",
        "more are refused (503, or closed) until half of them have closed; this is said once per burst. A command that keeps this many connections open at once is leaking them or trying to exhaust the proxy.");

    /// <summary>A connection sent no complete request head in time.</summary>
    public static readonly ErrorCode ProxyHeadTimeout = new(
        "SBX6008", Severity.Warning,
        "the egress proxy closed a connection that sent no complete request head within {0} s.",
        "clients send their request as soon as they connect; a connection that holds the proxy without one is closed so that the sandbox cannot tie it up. Said once per run; the summary counts them all.");

    /// <summary>The egress proxy failed during the run; everything through it was closed.</summary>
    public static readonly ErrorCode ProxyFailed = new(
        "SBX6009", Severity.Error,
        "the egress proxy failed during the run ({0}); every connection through it was closed at once and the rest of the run had no network. The command exited with status {1}.",
        "the run's exit status is the command's when it is not 0, else 125. Run the command again; if it keeps happening, run 'dotnet sandbox doctor' and report it with this message.");

    /// <summary>The egress proxy stopped reading; the watchdog closed everything through it.</summary>
    public static readonly ErrorCode ProxyStalled = new(
        "SBX6010", Severity.Error,
        "the egress proxy stopped moving data ({0}); every connection through it was closed at once and the rest of the run had no network. The command exited with status {1}.",
        "the run's exit status is the command's when it is not 0, else 125. A machine too busy to schedule the proxy's threads for seconds can cause this; run the command again, and report it with this message if it keeps happening.");

    /// <summary>The bridge inside the sandbox did not start, or said it failed: the command's status is not the run's.</summary>
    public static readonly ErrorCode BridgeDidNotStart = new(
        "SBX6011", Severity.Error,
        "the bridge did not start: {0}. The sandbox ended with status {1}, which is not the command's.",
        "the bridge (dotnet-sandbox-bridge) runs first in a networked sandbox, listens for the command's connections and starts the command. Reinstall the tool, or, in a program that hosts SandboxedBuild, name the dotnet-sandbox-bridge that ships with it; run 'dotnet sandbox doctor' and report it with this message if it keeps happening.");

    /// <summary>A networked run was asked for without a bridge executable to run inside.</summary>
    public static readonly ErrorCode BridgeMissing = new(
        "SBX6012", Severity.Error,
        "a networked run needs the bridge executable, and {0}; nothing was run.",
        "the tool looks for dotnet-sandbox-bridge next to itself: reinstall it. A program that hosts SandboxedBuild names the bridge it ships (the native dotnet-sandbox-bridge, or dotnet-sandbox-bridge.dll on the JIT) when it creates the SandboxRunner.");

    /// <summary>The egress proxy refused a connection by its policy; said once per destination while the command runs.</summary>
    public static readonly ErrorCode ConnectionBlocked = new(
        "SBX6013", Severity.Warning,
        "blocked: {0} — {1}",
        "the command was answered 403 (or its connection closed); if it needs the host, allow it as the remedy says, else nothing needs doing. The run's summary counts every refusal.");

    /// <summary>One connection through the egress proxy ended on an error of the proxy's own; the others go on.</summary>
    public static readonly ErrorCode ProxyConnectionError = new(
        "SBX6014", Severity.Warning,
        "the egress proxy dropped one connection after an error of its own: {0}",
        "the command saw that connection close; the others were not affected. Run the command again; report it with this message if it keeps happening.");

    /// <summary>Hosts were allowed or denied for a run that has no network.</summary>
    public static readonly ErrorCode HostsWithoutNetwork = new(
        "SBX6015", Severity.Error,
        "{0} cannot be combined with {setting:no-network}: without network there is no egress proxy, so no host can be allowed or denied; nothing was run.",
        "drop one or the other: leave the network off, or name the hosts the command needs and leave {setting:no-network} out.");

    /// <summary>Every entry of the catalog, for the tests and the documentation.</summary>
    public static IReadOnlyList<ErrorCode> All { get; } =
    [
        InvalidUsage, NoCommand, CommandNotFound, CommandNotExecutable, WorkingDirectoryTooBroad, CommandHidden,
        InvalidOptionValue, WorkingDirectoryMissing, PlatformNotSupported, NoProjectFound, ManyProjectsFound, ProjectFileInvalid,
        AllowedPathMissing, AllowedPathTooBroad, InvalidVariableName, SecretPassedExplicitly, PassedVariableUnset, VariablesNotPassed, LockFileNotWritable, LockFileDirectoryChanged, SensitiveReadAllowed,
        ServiceIndexUnreadable, NuGetConfigUnreadable, NuGetVariableInvalid,
        OutputDirectoryCreateFailed, ProjectEvaluationFailed, PendingWidening, InferredPathRefused, CredentialsNotPassed,
        PathThroughLink, InferredPathThroughLink, ProtectedPathIsLink, PackageEntryRefused, PackageLinkRemoved,
        UnsafeFileRefused,
        XmlFileInvalid, SolutionInvalid,
        MountCheckFailed, PlaceholderFailed,
        LockDirectoryUnsafe, LeftoverRemoved, StepWaiting,
        UserFileLocked,
        SanitizedSourceLeftOut, UserNuGetConfigInvalid, NuGetConfigAboveRepository,
        BubblewrapMissing, BubblewrapTooOld, UserNamespacesUnavailable, SandboxSetupFailed, SpawnFailed, ProtectedPathCreated,
        SeatbeltNotImplemented, PathNotRepresentableInProfile,
        InvalidBound, ProcessBoundFailed, BoundNotApplied,
        EmptyOptionValue, PathHasControlCharacter, TildeNotExpanded, PathNotUtf8, ProjectPathThroughLink, ArgumentNotUtf8, RunNeedsProject,
        NuGetConfigNotReadable,
        InvalidHostPattern, UnknownPreset, ProxyStartFailed, AuditMode, LoopbackPortNotForwarded,
        ProxyRequestMalformed, ProxyConnectionLimit, ProxyHeadTimeout,
        InterruptedBeforeStart, SandboxKilledOnRepeat,
        AppArmorUserNamespaceRestricted, WritableDirectoryRemoved, PrivateTmpfsFull, SupervisorSilent,
        ProxyFailed, ProxyStalled,
        BridgeDidNotStart, BridgeMissing, ConnectionBlocked, ProxyConnectionError, HostsWithoutNetwork,
    ];
}
