namespace LeanProxy.Engine;

/// <summary>The numbers in item[1] that tell the page what a non-HTTP item is (HTTP items carry the method there).</summary>
internal static class ItemKinds
{
    public const int Datagram = 10;
    public const int TcpOpen = 11;
    public const int TcpData = 12;
    public const int TcpEof = 13;
    public const int TcpAbort = 14;
    public const int TcpAck = 15;

    /// <summary>Bytes of a streamed response body the client's connection has taken: credit for the page's reader.</summary>
    public const int StreamAck = 16;

    /// <summary>The client's connection gave up a streamed response body (it went away, or the response has none).</summary>
    public const int StreamCancel = 17;
}
