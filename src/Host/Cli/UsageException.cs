namespace LeanProxy.Host.Cli;

/// <summary>Bad command-line usage: the message names the problem; the process exits with code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
