namespace LeanProxy.Listener;

public enum HttpVersion : byte
{
    Http10,
    Http11,
}
