using CommandLine;

namespace LeanProxy.Host.Cli;

/// <summary>Where the admin API is and the token for it (flags, else $LEANPROXY_ADMIN and $LEANPROXY_ADMIN_TOKEN).</summary>
internal abstract class AdminClientOptions
{
    [Option("admin", HelpText = "The admin API, e.g. http://127.0.0.1:8081 (default $LEANPROXY_ADMIN).")]
    public string? Admin { get; set; }

    [Option("token", HelpText = "The admin API's token (default $LEANPROXY_ADMIN_TOKEN).")]
    public string? Token { get; set; }
}

[Verb("deploy", HelpText = "Deploy an app folder to a node's store: every node serves it as NAME.DOMAIN.")]
internal sealed class DeployOptions : AdminClientOptions
{
    [Value(0, MetaName = "DIR", Required = true, HelpText = "The app folder (its index.js or index.mjs is the entry).")]
    public string Directory { get; set; } = string.Empty;

    [Option("name", Required = true, HelpText = "The app's name, a DNS label: it is served as NAME.DOMAIN.")]
    public string Name { get; set; } = string.Empty;

    [Option("var", HelpText = "KEY=VALUE handed to the handler in env (repeatable).")]
    public IEnumerable<string> Vars { get; set; } = [];

    [Option("kv", HelpText = "A KV namespace handed to the handler as env.BINDING (repeatable).")]
    public IEnumerable<string> Kv { get; set; } = [];

    [Option("warm", HelpText = "Every node starts the app when it starts or learns of it, instead of on its first request.")]
    public bool Warm { get; set; }
}

[Verb("apps", HelpText = "List, show, roll back or delete deployed apps: apps list | apps show NAME | apps rollback NAME --version N | apps delete NAME.")]
internal sealed class AppsOptions : AdminClientOptions
{
    [Value(0, MetaName = "ACTION", Required = true, HelpText = "list, show, rollback or delete.")]
    public string Action { get; set; } = string.Empty;

    [Value(1, MetaName = "NAME", Required = false, HelpText = "The app (for show, rollback and delete).")]
    public string? Name { get; set; }

    [Option("version", HelpText = "The version to make active again (rollback).")]
    public int? Version { get; set; }
}

[Verb("kv", HelpText = "Read and write a deployed app's KV values: kv get KEY | kv put KEY VALUE | kv delete KEY | kv list [--prefix P] (with --app NAME " +
    "--binding BINDING).")]
internal sealed class KvOptions : AdminClientOptions
{
    [Value(0, MetaName = "ACTION", Required = true, HelpText = "get, put, delete or list.")]
    public string Action { get; set; } = string.Empty;

    [Value(1, MetaName = "KEY", Required = false, HelpText = "The key (get, put, delete).")]
    public string? Key { get; set; }

    [Value(2, MetaName = "VALUE", Required = false, HelpText = "The value (put).")]
    public string? Value { get; set; }

    [Option("app", Required = true, HelpText = "The app.")]
    public string App { get; set; } = string.Empty;

    [Option("binding", Required = true, HelpText = "The KV binding (env.BINDING).")]
    public string Binding { get; set; } = string.Empty;

    [Option("prefix", HelpText = "list: only keys that start with this.")]
    public string? Prefix { get; set; }
}

[Verb("tail", HelpText = "Follow a deployed app's live log from every node: requests, console output, errors (Ctrl-C to stop).")]
internal sealed class TailOptions : AdminClientOptions
{
    [Value(0, MetaName = "NAME", Required = true, HelpText = "The app.")]
    public string Name { get; set; } = string.Empty;

    [Option("format", HelpText = "text (default) or json: one JSON object per line.")]
    public string? Format { get; set; }
}
