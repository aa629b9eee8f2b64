namespace LeanProxy.Cdp;

/// <summary>Chromium answered a command with an <c>error</c> object.</summary>
public sealed class CdpException : Exception
{
    public CdpException(string method, int code, string message)
        : base($"{method} failed: {message} (code {code})")
    {
        Method = method;
        Code = code;
        ProtocolMessage = message;
    }

    public string Method { get; }

    public int Code { get; }

    public string ProtocolMessage { get; }
}
