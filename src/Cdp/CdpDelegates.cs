using System.Text.Json;

namespace LeanProxy.Cdp;

/// <summary>Writes the members of a command's <c>params</c> object (the object itself is opened and closed by the caller).</summary>
public delegate void CdpParamsWriter<in TState>(Utf8JsonWriter writer, TState state);

/// <summary>Turns a reply's raw <c>result</c> JSON into a value; runs on the receive loop, so it must be quick.</summary>
public delegate TResult CdpResultReader<out TResult>(ReadOnlySpan<byte> resultJson);

/// <summary>Receives an event's raw <c>params</c> JSON on the receive loop; must not block.</summary>
public delegate void CdpEventCallback(ReadOnlySpan<byte> paramsJson, string? sessionId);
