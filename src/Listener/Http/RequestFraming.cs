namespace LeanProxy.Listener.Http;

/// <summary>What the head says about the body and the connection, decided once by the parser.</summary>
internal struct RequestFraming
{
    public BodyKind Body;
    public long ContentLength;
    public bool KeepAlive;
    public bool ExpectContinue;
}

public enum BodyKind : byte
{
    None,
    ContentLength,
    Chunked,
}
