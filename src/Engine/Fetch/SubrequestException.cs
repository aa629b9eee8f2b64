namespace LeanProxy.Engine.Fetch;

/// <summary>
/// Why a subrequest failed, as the handler sees it: <see cref="Kind"/> is the JavaScript error its <c>fetch</c>
/// rejects with (<c>TypeError</c> as Workers' network errors, <c>AbortError</c>, <c>RangeError</c>).
/// </summary>
public sealed class SubrequestException(string kind, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Kind { get; } = kind;

    public static SubrequestException Type(string message, Exception? inner = null) => new("TypeError", message, inner);
}
