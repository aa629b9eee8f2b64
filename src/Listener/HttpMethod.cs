namespace LeanProxy.Listener;

/// <summary>Methods recognised from bytes without making a string.</summary>
public enum HttpMethod : byte
{
    Custom,
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Patch,
    Trace,
    Connect,
}
