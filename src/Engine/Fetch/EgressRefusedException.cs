namespace LeanProxy.Engine.Fetch;

/// <summary>The egress policy refused the destination of a subrequest's connection (the message says which and why).</summary>
public sealed class EgressRefusedException(string refusal) : IOException(refusal);
