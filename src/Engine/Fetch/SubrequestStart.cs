namespace LeanProxy.Engine.Fetch;

/// <summary>What a page asked the host to fetch: the request as the handler made it.</summary>
internal sealed record SubrequestStart(int Id, string Method, Uri Url, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[]? Body,
    RedirectMode Redirect, bool Streamed = false);
