using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine;

internal static partial class EngineLog
{
    [LoggerMessage(200, LogLevel.Debug, "Page server: {Path} not found")]
    public static partial void PageServerMissing(ILogger logger, string path);

    [LoggerMessage(201, LogLevel.Information, "App {App}: tab {Tab} ready in {Milliseconds} ms")]
    public static partial void TabReady(ILogger logger, string app, int tab, long milliseconds);

    [LoggerMessage(202, LogLevel.Error, "App {App}: request {RequestId} ({Method} {Target}) failed in the handler: {Message}\n{Stack}")]
    public static partial void HandlerThrew(ILogger logger, string app, int requestId, string method, string target, string message, string stack);

    [LoggerMessage(203, LogLevel.Error, "App {App}: request {RequestId} ({Method} {Target}): {Message}")]
    public static partial void HandlerBadReturn(ILogger logger, string app, int requestId, string method, string target, string message);

    [LoggerMessage(204, LogLevel.Information, "[{App} tab {Tab}] console.{Kind}: {Text}")]
    public static partial void ConsoleInfo(ILogger logger, string app, int tab, string kind, string text);

    [LoggerMessage(205, LogLevel.Warning, "[{App} tab {Tab}] console.{Kind}: {Text}")]
    public static partial void ConsoleWarning(ILogger logger, string app, int tab, string kind, string text);

    [LoggerMessage(206, LogLevel.Error, "[{App} tab {Tab}] console.{Kind}: {Text}")]
    public static partial void ConsoleError(ILogger logger, string app, int tab, string kind, string text);

    [LoggerMessage(207, LogLevel.Error, "[{App} tab {Tab}] uncaught: {Text}")]
    public static partial void PageException(ILogger logger, string app, int tab, string text);

    [LoggerMessage(208, LogLevel.Warning, "App {App}: request {RequestId} ({Method} {Target}) timed out after {Seconds} s")]
    public static partial void RequestTimedOut(ILogger logger, string app, int requestId, string method, string target, double seconds);

    [LoggerMessage(209, LogLevel.Warning, "App {App}: tab {Tab} is busy past a deadline; terminating its script")]
    public static partial void Terminating(ILogger logger, string app, int tab);

    [LoggerMessage(210, LogLevel.Error, "App {App}: tab {Tab} ended ({Reason}); {InFlight} request(s) in flight")]
    public static partial void TabEnded(ILogger logger, string app, int tab, string reason, int inFlight);

    [LoggerMessage(211, LogLevel.Error, "App {App}: a batch call to tab {Tab} failed")]
    public static partial void BatchFailed(ILogger logger, string app, int tab, Exception exception);

    [LoggerMessage(212, LogLevel.Error, "App {App}: could not replace tab {Tab}")]
    public static partial void ReplaceFailed(ILogger logger, string app, int tab, Exception exception);

    [LoggerMessage(213, LogLevel.Warning, "App {App}: queue full ({Limit}); answering 503")]
    public static partial void QueueFull(ILogger logger, string app, int limit);

    [LoggerMessage(214, LogLevel.Error, "The browser is gone ({Reason}); relaunching")]
    public static partial void BrowserGone(ILogger logger, string reason);

    [LoggerMessage(216, LogLevel.Information, "The browser was relaunched (attempt {Attempt}); {Apps} app(s) serving again")]
    public static partial void BrowserRelaunched(ILogger logger, int attempt, int apps);

    [LoggerMessage(217, LogLevel.Error, "Relaunching the browser failed (attempt {Attempt})")]
    public static partial void RelaunchFailed(ILogger logger, int attempt, Exception exception);

    [LoggerMessage(218, LogLevel.Error, "App {App}: tab {Tab} still does not answer after its script was terminated; replacing it")]
    public static partial void Unresponsive(ILogger logger, string app, int tab);

    [LoggerMessage(238, LogLevel.Information, "App {App}: tab {Tab} sends {Count} request(s) again that shared a batch whose script was stopped")]
    public static partial void Resending(ILogger logger, string app, int tab, int count);

    [LoggerMessage(222, LogLevel.Information, "App {App}: {Modules} module(s) and {Packages} npm package(s) resolved in {Milliseconds:0.0} ms")]
    public static partial void ImportsResolved(ILogger logger, string app, int modules, int packages, double milliseconds);

    [LoggerMessage(223, LogLevel.Debug, "App {App}: import map {ImportMap}")]
    public static partial void ImportMap(ILogger logger, string app, string importMap);

    [LoggerMessage(224, LogLevel.Warning, "App {App}: tab {Tab} called the KV binding with a malformed payload; ignored")]
    public static partial void KvMalformed(ILogger logger, string app, int tab);

    [LoggerMessage(225, LogLevel.Error, "App {App}: a KV call failed in the store")]
    public static partial void KvStoreFailed(ILogger logger, string app, Exception exception);

    [LoggerMessage(226, LogLevel.Warning,
        "KV: the store's log of changes cannot be read ({Reason}); values cached on this node may be stale until it is back, at most their cacheTtl")]
    public static partial void KvFeedFailed(ILogger logger, string reason);

    [LoggerMessage(227, LogLevel.Information, "KV: the store's log of changes is read again")]
    public static partial void KvFeedBack(ILogger logger);

    [LoggerMessage(228, LogLevel.Information,
        "App {App}: started in {Milliseconds:0} ms (the first of {Tabs} tab(s) loaded{Prepared}; it serves while the others load)")]
    public static partial void AppStarted(ILogger logger, string app, double milliseconds, int tabs, string prepared);

    [LoggerMessage(229, LogLevel.Warning,
        "App {App}: refused a connection: {Refusal} (handlers may not reach loopback, private or link-local addresses, nor this node; --allow-net " +
            "HOST[:PORT] opens one)")]
    public static partial void EgressRefused(ILogger logger, string app, string refusal);

    [LoggerMessage(244, LogLevel.Warning, "App {App}: its pages have {Max} connections open; refusing more until some close")]
    public static partial void EgressCapped(ILogger logger, string app, int max);

    [LoggerMessage(245, LogLevel.Warning, "App {App}: a tab opened at start did not load; opening another")]
    public static partial void LateTabFailed(ILogger logger, string app, Exception exception);

    [LoggerMessage(219, LogLevel.Information, "App {App}: tab {Tab} is stalled; {Count} queued request(s) moved to other tabs")]
    public static partial void WorkMoved(ILogger logger, string app, int tab, int count);

    [LoggerMessage(220, LogLevel.Warning, "App {App}: tab {Tab} called the unknown binding {Binding}")]
    public static partial void UnknownBinding(ILogger logger, string app, int tab, string binding);

    [LoggerMessage(221, LogLevel.Error, "App {App}: tab {Tab}: the binding {Binding} failed")]
    public static partial void BindingFailed(ILogger logger, string app, int tab, string binding, Exception exception);

    [LoggerMessage(239, LogLevel.Information, "App {App}: tab {Tab} added in {Milliseconds:0} ms, its queue was growing ({Tabs} tab(s) now)")]
    public static partial void TabAdded(ILogger logger, string app, int tab, double milliseconds, int tabs);

    [LoggerMessage(240, LogLevel.Information, "App {App}: tab {Tab} closed: {Why} ({Tabs} tab(s) now)")]
    public static partial void TabRemoved(ILogger logger, string app, int tab, string why, int tabs);

    [LoggerMessage(241, LogLevel.Warning, "Preparing a browser context for the next cold start failed: {Reason}")]
    public static partial void PrepareFailed(ILogger logger, string reason);

    [LoggerMessage(242, LogLevel.Information, "A browser context is prepared for the next cold start ({Milliseconds:0} ms)")]
    public static partial void Prepared(ILogger logger, double milliseconds);

    [LoggerMessage(243, LogLevel.Warning, "App {App}: {Dropped} console line(s) dropped (an app logs at most {PerSecond} lines a second)")]
    public static partial void ConsoleDropped(ILogger logger, string app, long dropped, int perSecond);

    [LoggerMessage(246, LogLevel.Warning, "App {App}: tab {Tab} sent a malformed fetch call; ignored")]
    public static partial void FetchMalformed(ILogger logger, string app, int tab);

    [LoggerMessage(247, LogLevel.Debug, "App {App}: tab {Tab}'s data plane is open")]
    public static partial void DataPlaneOpened(ILogger logger, string app, int tab);

    [LoggerMessage(248, LogLevel.Warning, "App {App}: tab {Tab}'s data plane closed ({Reason}; {Held} answers held for their data); the tab is given up")]
    public static partial void DataPlaneClosed(ILogger logger, string app, int tab, string reason, int held);

    [LoggerMessage(249, LogLevel.Warning, "App {App}: tab {Tab} did not open its data plane: {Reason}; its bodies go inline")]
    public static partial void DataPlaneNotOpened(ILogger logger, string app, int tab, string reason);

    [LoggerMessage(250, LogLevel.Warning, "App {App}: tab {Tab} sent a payload that could not be read once its data arrived")]
    public static partial void HeldPayloadFailed(ILogger logger, string app, int tab, Exception exception);
}
