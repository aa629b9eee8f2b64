using System.Text.Json.Serialization;

namespace LeanProxy.Cdp.Protocol;

public sealed record SetDiscoverTargetsParams(bool Discover);

public sealed record CreateBrowserContextParams(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool DisposeOnDetach = false,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ProxyServer = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ProxyBypassList = null);

public sealed record CreateBrowserContextResult(string BrowserContextId);

public sealed record DisposeBrowserContextParams(string BrowserContextId);

public sealed record CreateTargetParams(
    string Url,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? BrowserContextId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool NewWindow = false,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Background = false);

public sealed record CreateTargetResult(string TargetId);

public sealed record AttachToTargetParams(string TargetId, bool Flatten = true);

public sealed record AttachToTargetResult(string SessionId);

public sealed record CloseTargetParams(string TargetId);

