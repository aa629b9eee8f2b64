using System.Net;

namespace LeanProxy.Engine.Egress;

/// <summary>What <see cref="EgressPolicy.ResolveAsync"/> decided: the addresses to connect to, or why the destination is refused.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1819", Justification = "Handed to Socket.ConnectAsync as they are; never changed.")]
public readonly record struct EgressDecision(IPAddress[] Addresses, string? Refusal);
