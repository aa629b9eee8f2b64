using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Node;

internal static partial class NodeLog
{
    [LoggerMessage(400, LogLevel.Information, "Node: store {Store} at revision {Revision}, {Apps} app(s)")]
    public static partial void Loaded(ILogger logger, string store, long revision, int apps);

    [LoggerMessage(401, LogLevel.Information, "App {App}: version {Version} serving on this node (started in {Milliseconds} ms)")]
    public static partial void Started(ILogger logger, string app, int version, long milliseconds);

    [LoggerMessage(402, LogLevel.Information, "App {App}: version {Version} replaces version {Previous} on this node")]
    public static partial void Switched(ILogger logger, string app, int version, int previous);

    [LoggerMessage(403, LogLevel.Information, "App {App}: deleted; no longer served")]
    public static partial void Deleted(ILogger logger, string app);

    [LoggerMessage(404, LogLevel.Error, "App {App}: version {Version} could not be started on this node; the running version stays")]
    public static partial void StartFailed(ILogger logger, string app, int version, Exception exception);

    [LoggerMessage(405, LogLevel.Error, "The store {Store} is unreachable ({Reason}); serving the versions this node has, retrying with backoff")]
    public static partial void StoreUnreachable(ILogger logger, string store, string reason);

    [LoggerMessage(406, LogLevel.Information, "The store {Store} is reachable again; catching up from revision {Revision}")]
    public static partial void StoreBack(ILogger logger, string store, long revision);

    [LoggerMessage(407, LogLevel.Information, "Admin: {Action} {App} version {Version}")]
    public static partial void AdminChange(ILogger logger, string action, string app, int version);

    [LoggerMessage(408, LogLevel.Warning, "Admin: a deploy of {App} was refused ({Status}): {Message}")]
    public static partial void DeployRefused(ILogger logger, string app, int status, string message);

    [LoggerMessage(409, LogLevel.Warning, "The admin API on {Address} has no token: anyone who can reach this loopback address can deploy")]
    public static partial void NoToken(ILogger logger, string address);

    [LoggerMessage(410, LogLevel.Warning, "Admin: a request to {Path} without a valid token ({Status})")]
    public static partial void Unauthorized(ILogger logger, string path, int status);

    [LoggerMessage(411, LogLevel.Warning, "Live logs: the store cannot be used to relay them ({Reason}); lines of tailed apps are dropped meanwhile")]
    public static partial void RelayFailed(ILogger logger, string reason);

    [LoggerMessage(412, LogLevel.Information, "App {App} version {Version} stopped on this node: {Why}; its next request starts it again")]
    public static partial void StoppedHere(ILogger logger, string app, int version, string why);

    [LoggerMessage(413, LogLevel.Information, "App {App}: a version it no longer routes to was retired (drained and stopped in {Milliseconds:0} ms)")]
    public static partial void Retired(ILogger logger, string app, double milliseconds);
}
