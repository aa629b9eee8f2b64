namespace LeanProxy.Listener;

/// <summary>Shared method strings, so that known methods never allocate.</summary>
public static class HttpMethods
{
    public const string Get = "GET";
    public const string Head = "HEAD";
    public const string Post = "POST";
    public const string Put = "PUT";
    public const string Delete = "DELETE";
    public const string Options = "OPTIONS";
    public const string Patch = "PATCH";
    public const string Trace = "TRACE";
    public const string Connect = "CONNECT";

    /// <summary>Whether a request with this method may be retried safely (RFC 9110 §9.2.2 idempotent and safe).</summary>
    public static bool IsIdempotentSafe(HttpMethod method) =>
        method is HttpMethod.Get or HttpMethod.Head or HttpMethod.Options or HttpMethod.Trace;
}
